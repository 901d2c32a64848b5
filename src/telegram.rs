//! The Telegram Bot API client, built from configuration.

use secrecy::ExposeSecret;
use teloxide::Bot;

use crate::config::Config;

/// The bot client, or `None` when no token is configured (broadcasts are then
/// queued but nothing is sent). `TELEGRAM_API_URL` is honoured so tests and
/// self-hosted Bot API servers work.
pub fn bot(config: &Config) -> Option<Bot> {
    config
        .telegram_bot_token
        .as_ref()
        .map(|token| Bot::new(token.expose_secret()).set_api_url(config.telegram_api_url.clone()))
}
