//! Test support shared by the end-to-end tests (in `e2e/`): local stand-ins for the SaaS we
//! cannot reach, speaking their real wire formats.

pub mod amocrm_standin;
pub mod cdek_standin;
pub mod telegram_standin;
