//! Email delivery from the durable outbox: the worker, the SMTP / webhook / log transports
//! against real sockets, and the templates; every test on SQLite and on PostgreSQL.

mod common;

mod retries;
mod smtp;
mod templates;
mod transports;
mod webhook;
mod workers;
