//! [`Reason`] in a `text` column (`status_reason`, `last_error`): written
//! as its JSON, read back tolerantly (text that is no code reads as
//! [`Reason::Legacy`]).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::domain::reason::Reason;

impl Type<Postgres> for Reason {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for Reason {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let stored = <&str as Decode<Postgres>>::decode(value)?;
        Ok(Reason::from_stored(stored))
    }
}

impl Encode<'_, Postgres> for Reason {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Postgres>>::encode(self.to_json(), buf)
    }
}
