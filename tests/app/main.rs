//! The integration suite: one binary, real PostgreSQL, the app over HTTP.

mod accounts;
mod analytics;
mod analytics_browser;
mod analytics_cache;
mod analytics_pages;
mod analytics_params;
mod auth;
mod binary;
mod bookings_api;
mod browser;
mod helpers;
mod leads;
mod local_pg;
mod migrations;
mod ops;
mod seed;
mod staff_pages;
mod stream_page;
mod stream_students_api;
mod streams_registry;
mod user_page;
mod users_api;
mod users_pages;
mod workshops;
