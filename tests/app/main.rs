//! The integration suite: one binary, real PostgreSQL, the app over HTTP.

mod accounts;
mod auth;
mod binary;
mod bookings_api;
mod browser;
mod delivery;
mod fake_telegram;
mod helpers;
mod local_pg;
mod messages_api;
mod migrations;
mod ops;
mod people_directory;
mod seed;
mod staff_pages;
mod stream_page;
mod streams_registry;
mod user_page;
mod users_api;
mod users_pages;
mod workshops;
