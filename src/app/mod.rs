//! Use cases: what staff can do, written once for both adapters, the JSON
//! API (`web::api`) and the pages (`web::pages`). A use case takes checked
//! input and a [`Context`], owns the rules around the store call (the
//! people-directory catch-up, idempotency, waking the delivery engine,
//! auditing through the actor) and returns one typed error per area, which
//! each adapter turns into its own answer: API.md's JSON or a Russian page.

pub mod analytics;
pub mod bookings;
pub mod broadcasts;
pub mod fresh;
pub mod intake;
pub mod reads;
pub mod staff;
pub mod streams;
pub mod users;

use sqlx::PgPool;

use crate::delivery::Wake;
use crate::store::audit::Actor;

/// Who acts, on what, with which side effects at hand.
pub struct Context<'a> {
    pub pool: &'a PgPool,
    /// Staff member, token or `cli`, with the request's address and id.
    pub actor: Actor,
    /// Pokes the delivery engine when a broadcast should start now.
    pub wake: &'a Wake,
    /// The shared hot reads: told when bookings or the registry change.
    pub reads: &'a reads::Reads,
}
