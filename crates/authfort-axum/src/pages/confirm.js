(function () {
  var cfg = JSON.parse(document.getElementById("cfg").textContent);
  var btn = document.getElementById("continue");
  var msg = document.getElementById("msg");
  var password = document.getElementById("password");
  var token =
    new URLSearchParams(location.hash.slice(1)).get("token") ||
    new URLSearchParams(location.search).get("token") ||
    "";
  // Take the token out of the address bar and the history entry.
  if (location.hash || location.search) history.replaceState(null, "", location.pathname);
  if (!token) {
    btn.disabled = true;
    msg.textContent = cfg.incomplete;
    return;
  }
  btn.addEventListener("click", function () {
    var body = { token: token };
    if (password) body.new_password = password.value;
    btn.disabled = true;
    msg.textContent = cfg.working;
    fetch(cfg.verify, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) {
          var d = res.body && res.body.detail;
          msg.textContent = (d && d.message) || cfg.failed;
          // A refused password leaves the link usable: let the user try another one.
          if (password && d && d.error && d.error.indexOf("password_") === 0) btn.disabled = false;
          return;
        }
        var dest = res.body.redirect_to || cfg.success;
        if (dest) {
          location.replace(dest);
        } else {
          msg.textContent = res.body.user ? cfg.done + " " + res.body.user.email + "." : cfg.done;
          if (password) password.disabled = true;
          document.getElementById("done").hidden = false;
        }
      })
      .catch(function () {
        btn.disabled = false;
        msg.textContent = "Network error. Please try again.";
      });
  });
})();
