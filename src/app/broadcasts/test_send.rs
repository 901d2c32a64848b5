//! «Отправить себе»: a broadcast's content (or a composed one) sent to the
//! acting staff member's own Telegram chat, so they see it as recipients
//! will. The API and the composer both do it; only their words differ.

use crate::domain::content::Content;
use crate::store::{broadcasts, delivery};
use crate::telegram::Telegram;

use super::Context;

/// Why the test message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum TestSendError {
    /// The staff member has no Telegram id (`staff set-telegram`).
    #[error("the acting staff member has no Telegram id")]
    NoTelegramId,
    /// No bot token is configured.
    #[error("Telegram is not configured")]
    NotConfigured,
    /// Telegram refused or failed; its message with the bot token redacted.
    #[error("Telegram: {0}")]
    Telegram(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Where the test message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestSent {
    /// The staff member's Telegram id.
    pub chat: i64,
    pub message_id: i32,
}

/// Sends `content` to the acting staff member's own chat. For a stored
/// broadcast (`of`), the send is recorded in its audit trail.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, broadcast = of))]
pub async fn send_test(
    ctx: &Context<'_>,
    telegram: Option<&Telegram>,
    content: &Content,
    of: Option<i32>,
) -> Result<TestSent, TestSendError> {
    let chat = delivery::staff_telegram_id(ctx.pool, &ctx.actor.name)
        .await?
        .ok_or(TestSendError::NoTelegramId)?;
    let telegram = telegram.ok_or(TestSendError::NotConfigured)?;
    let message_id = telegram
        .send(chat, content)
        .await
        .map_err(|err| TestSendError::Telegram(telegram.redact(&err.to_string())))?;
    if let Some(id) = of {
        broadcasts::record_test_send(ctx.pool, id, &ctx.actor, chat).await?;
    }
    Ok(TestSent { chat, message_id })
}
