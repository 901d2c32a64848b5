//! The delivery engine against real PostgreSQL and the real teloxide client
//! talking to the fake Bot API server.
