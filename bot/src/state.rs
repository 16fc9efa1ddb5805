//! Dialogue state (kept in Redis between updates and across restarts) and the callback data
//! of inline buttons. Callback data comes back from Telegram clients and is untrusted: it is
//! parsed into [`Cb`], and anything else is refused.

use serde::{Deserialize, Serialize};

/// Where a chat is in a dialogue, plus the cart it is filling.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub step: Step,
    #[serde(default)]
    pub cart: Vec<CartLine>,
    /// Carts ordered so far from this chat; part of the checkout's idempotency key.
    #[serde(default)]
    pub orders: u32,
}

/// The dialogue step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub enum Step {
    /// Nothing asked; text from a linked user is a catalog search.
    #[default]
    Idle,
    /// `/start` asked for the phone (contact button).
    AwaitPhone,
    /// A user not known as a customer is leaving a callback request; waiting for the comment.
    CallbackComment { phone: String },
    /// SOS: the machine is chosen, waiting for the description.
    SosDescribe { machine_id: i64, machine: String },
    /// SOS: described; photos may be added, then confirm. `key` identifies this SOS for
    /// idempotent submission.
    SosConfirm {
        machine_id: i64,
        machine: String,
        description: String,
        photos: Vec<String>,
        key: String,
    },
    /// Procurement: waiting for the photo or file of a quote (`quote`) or invoice (`invoice`)
    /// request.
    AwaitFile { kind: String },
    /// Procurement: waiting for an order number.
    AwaitOrderNumber,
}

/// A cart line, with the price the user was shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CartLine {
    pub catalog_id: String,
    pub sku: String,
    pub name: String,
    pub price_rub: Option<f64>,
    pub qty: i64,
}

/// Most lines the bot's cart takes, and most photos per SOS.
pub const MAX_CART_LINES: usize = 30;
pub const MAX_SOS_PHOTOS: usize = 5;

impl State {
    /// Adds one of the item; `false` when the cart is full.
    pub fn add_to_cart(&mut self, line: CartLine) -> bool {
        if let Some(l) = self
            .cart
            .iter_mut()
            .find(|l| l.catalog_id == line.catalog_id)
        {
            l.qty = (l.qty + 1).min(10_000);
            l.price_rub = line.price_rub;
            return true;
        }
        if self.cart.len() >= MAX_CART_LINES {
            return false;
        }
        self.cart.push(line);
        true
    }

    pub fn cart_total(&self) -> f64 {
        self.cart
            .iter()
            .filter_map(|l| l.price_rub.map(|p| p * l.qty as f64))
            .sum()
    }
}

/// What an inline button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cb {
    /// A page of "Мой парк".
    Park(u32),
    /// SOS for this machine.
    SosMachine(i64),
    SosSend,
    SosCancel,
    /// Spend for `month`, `quarter` or `year`.
    Spend(&'static str),
    /// Send this knowledge-base document.
    Doc(i64),
    /// Add this catalog item to the cart.
    Cart(String),
    Checkout,
    ClearCart,
    /// An unknown user asks to be called back.
    CallMe,
    /// Switch the notification kind with this index in the settings list.
    NotifyToggle(u8),
    /// Quiet hours (22:00–08:00 Moscow time) on or off.
    Quiet(bool),
}

/// Telegram's limit on `callback_data`.
pub const MAX_CALLBACK_BYTES: usize = 64;

impl Cb {
    /// The callback data, or `None` if it would not fit Telegram's 64 bytes.
    pub fn data(&self) -> Option<String> {
        let s = match self {
            Cb::Park(p) => format!("park:{p}"),
            Cb::SosMachine(id) => format!("sos:{id}"),
            Cb::SosSend => "sos_send".into(),
            Cb::SosCancel => "sos_cancel".into(),
            Cb::Spend(p) => format!("spend:{p}"),
            Cb::Doc(id) => format!("doc:{id}"),
            Cb::Cart(id) => format!("cart:{id}"),
            Cb::Checkout => "checkout".into(),
            Cb::ClearCart => "cart_clear".into(),
            Cb::CallMe => "call_me".into(),
            Cb::NotifyToggle(i) => format!("ntf:{i}"),
            Cb::Quiet(on) => format!("quiet:{}", if *on { "on" } else { "off" }),
        };
        (s.len() <= MAX_CALLBACK_BYTES).then_some(s)
    }

    /// Parses callback data; `None` for anything the bot did not produce.
    pub fn parse(data: &str) -> Option<Cb> {
        if data.len() > MAX_CALLBACK_BYTES {
            return None;
        }
        let positive = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        Some(match data.split_once(':') {
            None => match data {
                "sos_send" => Cb::SosSend,
                "sos_cancel" => Cb::SosCancel,
                "checkout" => Cb::Checkout,
                "cart_clear" => Cb::ClearCart,
                "call_me" => Cb::CallMe,
                _ => return None,
            },
            Some(("park", p)) => Cb::Park(p.parse().ok().filter(|p| *p < 10_000)?),
            Some(("sos", id)) => Cb::SosMachine(positive(id)?),
            Some(("spend", p)) => Cb::Spend(match p {
                "month" => "month",
                "quarter" => "quarter",
                "year" => "year",
                _ => return None,
            }),
            Some(("doc", id)) => Cb::Doc(positive(id)?),
            Some(("ntf", i)) => Cb::NotifyToggle(i.parse().ok().filter(|i| *i < 16)?),
            Some(("quiet", "on")) => Cb::Quiet(true),
            Some(("quiet", "off")) => Cb::Quiet(false),
            Some(("cart", id)) => {
                if id.is_empty() || id.chars().any(char::is_control) {
                    return None;
                }
                Cb::Cart(id.to_string())
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips() {
        for cb in [
            Cb::Park(0),
            Cb::Park(12),
            Cb::SosMachine(42),
            Cb::SosSend,
            Cb::SosCancel,
            Cb::Spend("quarter"),
            Cb::Doc(7),
            Cb::Cart("SP-6205-2RS".into()),
            Cb::Checkout,
            Cb::ClearCart,
            Cb::CallMe,
            Cb::NotifyToggle(2),
            Cb::Quiet(true),
            Cb::Quiet(false),
        ] {
            let data = cb.data().unwrap();
            assert_eq!(Cb::parse(&data), Some(cb), "{data}");
        }
    }

    #[test]
    fn forged_callback_data_is_refused() {
        for bad in [
            "",
            "park:-1",
            "park:abc",
            "sos:0",
            "sos:-5",
            "sos:1;drop",
            "spend:decade",
            "ntf:99",
            "ntf:-1",
            "quiet:maybe",
            "doc:",
            "cart:",
            "cart:a\nb",
            "admin",
            &format!("cart:{}", "x".repeat(70)),
        ] {
            assert_eq!(Cb::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn long_item_ids_get_no_button() {
        assert!(Cb::Cart("x".repeat(59)).data().is_some());
        assert!(Cb::Cart("x".repeat(60)).data().is_none());
    }

    #[test]
    fn cart_merges_lines_and_totals() {
        let line = |id: &str, price| CartLine {
            catalog_id: id.into(),
            sku: id.into(),
            name: id.into(),
            price_rub: price,
            qty: 1,
        };
        let mut s = State::default();
        assert!(s.add_to_cart(line("a", Some(100.0))));
        assert!(s.add_to_cart(line("a", Some(100.0))));
        assert!(s.add_to_cart(line("b", None)));
        assert_eq!(s.cart.len(), 2);
        assert_eq!(s.cart[0].qty, 2);
        assert_eq!(s.cart_total(), 200.0);
        for i in 0..MAX_CART_LINES {
            s.add_to_cart(line(&format!("x{i}"), Some(1.0)));
        }
        assert_eq!(s.cart.len(), MAX_CART_LINES);
        assert!(!s.add_to_cart(line("overflow", Some(1.0))));
    }

    #[test]
    fn state_survives_json_round_trip() {
        let s = State {
            step: Step::SosConfirm {
                machine_id: 3,
                machine: "16К20 №SN-1".into(),
                description: "шпиндель греется".into(),
                photos: vec!["AgAD".into()],
                key: "sos-1-2".into(),
            },
            cart: vec![],
            orders: 2,
        };
        let back: State = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
