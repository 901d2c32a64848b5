//! The Telegram Bot API client, built from configuration: teloxide's `Bot`
//! pointed at `TELEGRAM_API_URL` (tests point it at a fake server).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use teloxide::Bot;
use teloxide::RequestError;
use teloxide::payloads::{
    SendDocumentSetters, SendMessageSetters, SendPhotoSetters, SendVideoSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions,
    MessageId, ParseMode,
};

use crate::config::Config;
use crate::domain::broadcast::{ButtonAction, Keyboard};
use crate::domain::content::{Content, ContentType};

/// How long one Bot API request may take before it counts as a network
/// error (and is retried).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest error text kept or shown.
pub const MAX_ERROR_CHARS: usize = 500;

/// A configured bot.
#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
    /// For taking the token out of error texts.
    token: SecretString,
    /// Identifies the bot token without revealing it: the send budget is
    /// per token, so the senders of one token share one lock.
    budget_key: i64,
}

impl std::fmt::Debug for Telegram {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram").finish_non_exhaustive()
    }
}

impl Telegram {
    /// The client, or `None` when no token is configured (broadcasts are
    /// then queued but nothing is sent).
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let Some(token) = &config.telegram_bot_token else {
            return Ok(None);
        };
        let client = teloxide::net::default_reqwest_settings()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let token = token.expose_secret();
        let digest = Sha256::digest(token.as_bytes());
        let budget_key = i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        Ok(Some(Self {
            bot: Bot::with_client(token, client).set_api_url(config.telegram_api_url.clone()),
            token: SecretString::from(token),
            budget_key,
        }))
    }

    /// `text` (an error's) without the bot token or its secret part, which
    /// a network error's URL may contain, cut to [`MAX_ERROR_CHARS`].
    pub fn redact(&self, text: &str) -> String {
        let token = self.token.expose_secret();
        let mut text = text.replace(token, "[token]");
        if let Some((_, secret)) = token.split_once(':')
            && !secret.is_empty()
        {
            text = text.replace(secret, "[token]");
        }
        text.chars().take(MAX_ERROR_CHARS).collect()
    }

    /// The advisory-lock key of this token's send budget.
    pub fn budget_key(&self) -> i64 {
        self.budget_key
    }

    /// Sends `content` to the private chat of `user_id`; the message id.
    pub async fn send(&self, user_id: i64, content: &Content) -> Result<i32, RequestError> {
        let chat = ChatId(user_id);
        let markup = (!content.buttons.is_empty()).then(|| markup(&content.buttons));
        let html = content.html.as_str().to_owned();
        let file = || InputFile::file_id(FileId(content.file_id.clone().unwrap_or_default()));
        macro_rules! send_media {
            ($method:ident) => {{
                let mut request = self.bot.$method(chat, file()).parse_mode(ParseMode::Html);
                if !html.is_empty() {
                    request = request.caption(html);
                }
                if let Some(markup) = markup {
                    request = request.reply_markup(markup);
                }
                request.await?
            }};
        }
        let message = match content.kind {
            ContentType::Text => {
                let mut request = self
                    .bot
                    .send_message(chat, html)
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(LinkPreviewOptions {
                        is_disabled: !content.link_preview,
                        url: None,
                        prefer_small_media: false,
                        prefer_large_media: false,
                        show_above_text: false,
                    });
                if let Some(markup) = markup {
                    request = request.reply_markup(markup);
                }
                request.await?
            }
            // The three media requests are different types with the same setters.
            ContentType::Photo => send_media!(send_photo),
            ContentType::Video => send_media!(send_video),
            ContentType::Document => send_media!(send_document),
        };
        Ok(message.id.0)
    }

    /// Deletes a message the bot sent to `user_id`.
    pub async fn delete(&self, user_id: i64, message_id: i32) -> Result<(), RequestError> {
        self.bot
            .delete_message(ChatId(user_id), MessageId(message_id))
            .await?;
        Ok(())
    }
}

fn markup(keyboard: &Keyboard) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(keyboard.rows().iter().map(|row| {
        row.iter()
            // URLs were checked with the same parser when the content was
            // validated, so none is dropped here.
            .filter_map(|button| match &button.action {
                ButtonAction::Url(url) => url
                    .parse()
                    .ok()
                    .map(|url| InlineKeyboardButton::url(button.text.clone(), url)),
                ButtonAction::CallbackData(data) => Some(InlineKeyboardButton::callback(
                    button.text.clone(),
                    data.clone(),
                )),
            })
            .collect::<Vec<_>>()
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn error_texts_never_carry_the_token() {
        let vars = HashMap::from([(
            "TELEGRAM_BOT_TOKEN".to_owned(),
            "123456:SECRET-part_x".to_owned(),
        )]);
        let telegram = Telegram::from_config(&Config::from_vars(&vars).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            telegram.redact("POST https://h/bot123456:SECRET-part_x/SendMessage; SECRET-part_x"),
            "POST https://h/bot[token]/SendMessage; [token]"
        );
        assert_eq!(telegram.redact(&"я".repeat(600)).chars().count(), 500);
        assert!(!format!("{telegram:?}").contains("SECRET"));
    }
}
