(function () {
  var cfg = JSON.parse(document.getElementById("cfg").textContent);
  var btn = document.getElementById("continue");
  var msg = document.getElementById("msg");
  var token =
    new URLSearchParams(location.hash.slice(1)).get("token") ||
    new URLSearchParams(location.search).get("token") ||
    "";
  // Take the token out of the address bar and the history entry.
  if (location.hash || location.search) history.replaceState(null, "", location.pathname);
  if (!token) {
    btn.disabled = true;
    msg.textContent = "This link is incomplete. Please request a new sign-in link.";
    return;
  }
  btn.addEventListener("click", function () {
    btn.disabled = true;
    msg.textContent = "Signing you in\u2026";
    fetch(cfg.verify, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token }),
    })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) {
          var d = res.body && res.body.detail;
          msg.textContent = (d && d.message) || "This link is invalid or has expired.";
          return;
        }
        var dest = res.body.redirect_to || cfg.success;
        if (dest) {
          location.replace(dest);
        } else {
          msg.textContent = "You are signed in as " + res.body.user.email + ".";
          document.getElementById("done").hidden = false;
        }
      })
      .catch(function () {
        btn.disabled = false;
        msg.textContent = "Network error. Please try again.";
      });
  });
})();
