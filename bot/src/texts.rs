//! Everything the bot says, in Russian, as plain text (no parse mode, so nothing needs escaping).
//! Formatting functions are pure and tested here.

use crate::api::{
    Document, Hit, Machine, NotificationKind, NotificationSettings, Offer, OrderShipments, Project,
    Role, Spend, Ticket,
};
use crate::state::CartLine;

pub const ASK_PHONE: &str = "Здравствуйте! Это бот сервиса станков и запчастей.\n\
    Чтобы показать ваш парк оборудования и заявки, поделитесь номером телефона — кнопка ниже.";
pub const SHARE_PHONE_BUTTON: &str = "📱 Поделиться номером";
pub const NOT_OWN_CONTACT: &str =
    "Пожалуйста, отправьте свой номер кнопкой «Поделиться номером», а не чужой контакт.";
pub const UNKNOWN_CLIENT: &str = "Мы не нашли компанию с этим номером среди наших клиентов.\n\
    Оставьте заявку — менеджер перезвонит и подключит вас.";
pub const CALL_ME_BUTTON: &str = "📞 Заказать звонок";
pub const ASK_CALLBACK_COMMENT: &str =
    "Напишите, как к вам обращаться и что вас интересует (одним сообщением).";
pub const NEED_START: &str = "Сначала поделитесь номером телефона: отправьте /start.";
pub const FAILED: &str =
    "Не удалось выполнить запрос: сервис временно недоступен. Попробуйте ещё раз через минуту.";
pub const FORBIDDEN: &str = "Этот раздел недоступен для вашей роли. Роль назначает ваш менеджер.";
pub const UNKNOWN_BUTTON: &str = "Эта кнопка устарела. Откройте меню заново: /menu";
pub const CANCELLED: &str = "Отменено.";
pub const HELP: &str = "Команды:\n/start — подключение по номеру телефона\n/menu — меню\n\
    /login — вход в приложение для телефона (работает без связи)\n\
    /notifications — какие уведомления присылать\n\
    /cancel — отменить текущее действие\n/help — эта справка";

/// The one-time sign-in link for the PWA.
pub fn login_link(url: &str, minutes: i64) -> String {
    format!(
        "Ссылка для входа в приложение «Станок» на телефоне (парк, заявки и документация — \
         и без связи):\n{url}\n\nСсылка одноразовая и действует {minutes} мин. Не пересылайте её: \
         по ней входят от вашего имени. Потеряли телефон — сообщите менеджеру, он завершит вход."
    )
}

pub const BTN_PARK: &str = "🏭 Мой парк";
pub const BTN_SOS: &str = "🆘 SOS";
pub const BTN_TICKETS: &str = "🔧 Статус ремонтов";
pub const BTN_KB: &str = "📚 База знаний";
pub const BTN_SPEND: &str = "💰 Расходы";
pub const BTN_PROJECTS: &str = "📈 Проекты модернизации";
pub const BTN_OFFERS: &str = "🎁 Персональные предложения";
pub const BTN_QUOTE: &str = "📄 Запросить КП";
pub const BTN_INVOICE: &str = "🧾 Запросить счёт";
pub const BTN_SHIPMENT: &str = "🚚 Статус отгрузки";
pub const BTN_CART: &str = "🛒 Корзина";
pub const BTN_CATALOG: &str = "🔎 Каталог запчастей";

pub const SOS_PICK_MACHINE: &str = "Какой станок неисправен?";
pub const SOS_NO_MACHINES: &str =
    "В вашем парке пока нет станков. Позвоните в сервис или оставьте заявку через менеджера.";
pub const SOS_ASK_PHOTOS: &str = "Можно приложить фото (до 5). Затем нажмите «Отправить заявку».";
pub const SOS_SEND_BUTTON: &str = "✅ Отправить заявку";
pub const SOS_CANCEL_BUTTON: &str = "✖ Отмена";
pub const SOS_NEED_TEXT: &str = "Опишите неисправность текстом.";
pub const SOS_TOO_MANY_PHOTOS: &str = "Больше 5 фото приложить нельзя. Нажмите «Отправить заявку».";
pub const ASK_FILE_QUOTE: &str = "Пришлите фото шильдика или детали, либо файл (PDF, JPG, PNG) — \
    подготовим коммерческое предложение. Подпись к фото попадёт в заявку. /cancel — отмена.";
pub const ASK_FILE_INVOICE: &str = "Пришлите файл или фото спецификации (PDF, JPG, PNG) — \
    выставим счёт. Подпись попадёт в заявку. /cancel — отмена.";
pub const NEED_FILE: &str = "Нужно фото или файл (PDF, JPG, PNG). /cancel — отмена.";
pub const ASK_ORDER_NUMBER: &str = "Введите номер заказа.";
pub const SEARCH_HINT: &str =
    "Напишите, что ищете: название, артикул или модель станка — например, «подшипник шпинделя 16К20».";
pub const NOTHING_FOUND: &str =
    "Ничего не нашлось. Попробуйте другие слова, артикул или модель станка.";
pub const CART_EMPTY: &str =
    "Корзина пуста. Найдите запчасть: просто напишите её название или артикул.";
pub const CART_FULL: &str = "В корзине уже 30 позиций — оформите заказ или очистите корзину.";
pub const CART_CLEARED: &str = "Корзина очищена.";
pub const CHECKOUT_BUTTON: &str = "✅ Оформить заказ";
pub const CLEAR_CART_BUTTON: &str = "🗑 Очистить";
pub const NO_TICKETS: &str = "Открытых заявок на ремонт нет.";
pub const NO_DOCUMENTS: &str = "Для моделей вашего парка документов пока нет.";
pub const NO_PROJECTS: &str = "Активных проектов модернизации нет.";
pub const NO_OFFERS: &str = "Персональных предложений сейчас нет.";
pub const NO_PHONE: &str = "Нет вашего номера телефона: отправьте /start и поделитесь номером.";

/// Rubles with a thin group separator and kopecks only when present: `1 234 567 ₽`, `99,50 ₽`.
/// `YYYY-MM-DDThh:mm…Z` (UTC, as the API answers) as `DD.MM.YYYY hh:mm` in Moscow time
/// (UTC+3, no daylight saving since 2014); anything else is shown as it came.
pub fn moscow_time(utc: &str) -> String {
    let num = |r: std::ops::Range<usize>| utc.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(y), Some(m), Some(d), Some(h), Some(min)) =
        (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16))
    else {
        return utc.to_string();
    };
    // Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
    let days = {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    };
    let minutes = (days * 24 + h + 3) * 60 + min;
    let (days, rest) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{d:02}.{m:02}.{y} {:02}:{:02}", rest / 60, rest % 60)
}

pub fn rub(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let (int, frac) = (cents.abs() / 100, cents.abs() % 100);
    let digits = int.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let sign = if cents < 0 { "−" } else { "" };
    if frac == 0 {
        format!("{sign}{grouped} ₽")
    } else {
        format!("{sign}{grouped},{frac:02} ₽")
    }
}

fn price(p: Option<f64>) -> String {
    p.map_or_else(|| "цена по запросу".to_string(), rub)
}

/// Russian names of ticket statuses.
pub fn ticket_status(s: &str) -> &str {
    match s {
        "new" => "новая",
        "accepted" => "принята",
        "in_progress" => "в работе",
        "waiting_parts" => "ждём запчасти",
        "done" => "выполнена",
        "cancelled" => "отменена",
        other => other,
    }
}

pub fn shipment_status(s: &str) -> &str {
    match s {
        "preparing" => "готовится к отгрузке",
        "handed_to_carrier" => "передан перевозчику",
        "in_transit" => "в пути",
        "arrived" => "прибыл в пункт выдачи",
        "delivered" => "доставлен",
        "problem" => "проблема с доставкой",
        other => other,
    }
}

pub fn order_status(s: &str) -> &str {
    match s {
        "new" => "новый",
        "confirmed" => "подтверждён",
        "paid" => "оплачен",
        "shipped" => "отгружен",
        "delivered" => "доставлен",
        "cancelled" => "отменён",
        other => other,
    }
}

pub fn menu_greeting(company: Option<&str>, role: Option<Role>) -> String {
    let role = match role {
        Some(Role::Director) => "директор",
        Some(Role::Procurement) => "снабжение",
        Some(Role::Engineer) => "инженер",
        Some(Role::Other) | None => "роль не назначена",
    };
    format!(
        "{} · {role}\nВыберите раздел в меню.",
        company.unwrap_or("Клиент")
    )
}

pub fn machine_label(m: &Machine) -> String {
    format!("{} №{}", m.model, m.serial_number)
}

/// Machines per page of "Мой парк".
pub const PARK_PAGE: usize = 5;

/// One page of the park; `page` is clamped to the last one.
pub fn park_page(company: &str, machines: &[Machine], page: usize) -> (String, usize, usize) {
    if machines.is_empty() {
        return (format!("{company}: станков в парке пока нет."), 0, 1);
    }
    let pages = machines.len().div_ceil(PARK_PAGE);
    let page = page.min(pages - 1);
    let mut out = format!(
        "Мой парк — {company}, станков: {} (стр. {}/{pages})\n",
        machines.len(),
        page + 1
    );
    for m in machines.iter().skip(page * PARK_PAGE).take(PARK_PAGE) {
        out.push_str(&format!("\n• {}", machine_label(m)));
        if let Some(n) = &m.product_name {
            out.push_str(&format!("\n  {n}"));
        }
        if let Some(d) = &m.sold_at {
            out.push_str(&format!("\n  продан: {d}"));
        }
        if let Some(d) = &m.commissioned_at {
            out.push_str(&format!("\n  введён в эксплуатацию: {d}"));
        }
    }
    (out, page, pages)
}

pub fn sos_ask_description(machine: &str) -> String {
    format!("Станок: {machine}.\nОпишите неисправность одним сообщением.")
}

pub fn sos_summary(machine: &str, description: &str, photos: usize) -> String {
    format!("Заявка SOS\nСтанок: {machine}\nНеисправность: {description}\nФото: {photos}\n\n{SOS_ASK_PHOTOS}")
}

pub fn sos_created(ticket: Option<i64>, lead: i64) -> String {
    match ticket {
        Some(t) => format!(
            "🆘 Заявка на сервис №{t} принята. Инженер сервиса свяжется с вами.\n\
             Статус — в разделе «Статус ремонтов». (обращение №{lead})"
        ),
        None => format!("Заявка №{lead} принята."),
    }
}

pub fn tickets(list: &[Ticket]) -> String {
    if list.is_empty() {
        return NO_TICKETS.to_string();
    }
    let mut out = String::from("Заявки на ремонт:\n");
    for t in list {
        out.push_str(&format!(
            "\n№{} — {} №{} — {}\n  {}",
            t.id,
            t.model,
            t.serial_number,
            ticket_status(&t.status),
            t.description
        ));
        for e in &t.history {
            let at = moscow_time(&e.at);
            out.push_str(&format!("\n  {at} · {}", ticket_status(&e.status)));
            if !e.comment.is_empty() {
                out.push_str(&format!(" — {}", e.comment));
            }
        }
        out.push('\n');
    }
    out
}

fn period_name(p: &str) -> (&'static str, &'static str) {
    match p {
        "quarter" => ("Текущий квартал", "прошлый квартал"),
        "year" => ("Текущий год", "прошлый год"),
        _ => ("Текущий месяц", "прошлый месяц"),
    }
}

/// Quiet hours offered by the settings screen (Moscow time).
pub const QUIET_FROM: i16 = 22;
pub const QUIET_TO: i16 = 8;

pub fn notification_settings(s: &NotificationSettings) -> String {
    let mut t = String::from(
        "Уведомления: бот сам напишет, когда что-то изменится.\nНажмите на вид, чтобы включить или выключить его.\n",
    );
    for k in &s.kinds {
        t.push_str(&format!(
            "\n{} {}",
            if k.enabled { "✅" } else { "🔕" },
            k.label
        ));
    }
    match s.quiet_hours {
        Some(q) => t.push_str(&format!(
            "\n\n🌙 Тихие часы: {:02}:00–{:02}:00 (мск) — уведомления придут после них.",
            q.from, q.to
        )),
        None => t.push_str("\n\n🌙 Тихие часы выключены."),
    }
    t
}

pub fn notification_button(k: &NotificationKind) -> String {
    format!("{} {}", if k.enabled { "✅" } else { "🔕" }, k.label)
}

pub fn quiet_button(on: bool) -> String {
    if on {
        "🌙 Выключить тихие часы".into()
    } else {
        format!("🌙 Тихие часы {QUIET_FROM:02}:00–{QUIET_TO:02}:00")
    }
}

pub fn spend(s: &Spend) -> String {
    let (cur, prev) = period_name(&s.period);
    let change = match s.change_pct {
        Some(c) if c > 0.0 => format!("+{c:.1}% к периоду «{prev}»"),
        Some(c) => format!("{c:.1}% к периоду «{prev}»"),
        None => format!("в периоде «{prev}» расходов не было"),
    };
    let line =
        |name: &str, now: f64, before: f64| format!("{name}: {} (было {})", rub(now), rub(before));
    let in_work = if s.deals_in_work > 0 {
        format!(
            "\n\nСделки в работе: {} на {}",
            s.deals_in_work,
            rub(s.deals_in_work_rub)
        )
    } else {
        String::new()
    };
    let text = format!(
        "{cur} (с {}, время московское)\n{}\n{}\n{}\nИтого: {}\n{change}\n\n\
         Для сравнения, {prev}: {}",
        s.current.from,
        line(
            "Оборудование",
            s.current.equipment_rub,
            s.previous.equipment_rub
        ),
        line("Запчасти", s.current.parts_rub, s.previous.parts_rub),
        line(
            "Сервис и ремонт",
            s.current.service_rub,
            s.previous.service_rub
        ),
        rub(s.current.total_rub),
        rub(s.previous.total_rub),
    );
    text + &in_work
}

pub fn projects(list: &[Project]) -> String {
    if list.is_empty() {
        return NO_PROJECTS.to_string();
    }
    let mut out = String::from("Проекты модернизации:\n");
    for p in list {
        let status = if p.status == "active" {
            "в работе"
        } else {
            "предложен"
        };
        out.push_str(&format!(
            "\n• {} — {status}, готовность {}%",
            p.title, p.progress_pct
        ));
        if let Some(b) = p.budget_rub {
            out.push_str(&format!(", бюджет {}", rub(b)));
        }
        if let Some(d) = &p.due_on {
            out.push_str(&format!(", срок {d}"));
        }
    }
    out
}

pub fn offers(list: &[Offer]) -> String {
    if list.is_empty() {
        return NO_OFFERS.to_string();
    }
    let mut out = String::from("Персональные предложения:\n");
    for o in list {
        out.push_str(&format!("\n• {}", o.title));
        if let Some(d) = o.discount_pct {
            out.push_str(&format!(" — скидка {d:.0}%"));
        }
        if let (Some(sku), Some(p)) = (&o.item_sku, o.price_rub) {
            out.push_str(&format!("\n  {sku}: {}", rub(p)));
        }
        if !o.body.is_empty() {
            out.push_str(&format!("\n  {}", o.body));
        }
        if let Some(v) = &o.valid_until {
            out.push_str(&format!("\n  действует до {v}"));
        }
    }
    out
}

pub fn shipments(o: &OrderShipments) -> String {
    let mut out = format!(
        "Заказ {} — {}, сумма {}",
        o.number,
        order_status(&o.status),
        rub(o.total_rub)
    );
    if o.shipments.is_empty() {
        out.push_str("\nОтгрузок по заказу пока нет.");
    }
    for s in &o.shipments {
        out.push_str(&format!(
            "\n\n🚚 {}: {}",
            s.carrier,
            shipment_status(&s.status)
        ));
        if let Some(t) = &s.tracking_no {
            out.push_str(&format!("\nТрек-номер: {t}"));
        }
        if let Some(e) = &s.eta {
            out.push_str(&format!("\nОжидаемая дата: {e}"));
        }
        for e in &s.events {
            let at = moscow_time(&e.at);
            out.push_str(&format!("\n  {at} · {}", shipment_status(&e.status)));
            for part in [&e.description, &e.location] {
                if !part.is_empty() {
                    out.push_str(&format!(" · {part}"));
                }
            }
        }
    }
    out
}

pub fn order_not_found(number: &str) -> String {
    format!("Заказ «{number}» не найден среди заказов вашей компании. Проверьте номер.")
}

pub fn documents(list: &[Document]) -> String {
    if list.is_empty() {
        return NO_DOCUMENTS.to_string();
    }
    let mut out = String::from("Документы для вашего парка (нажмите, чтобы получить файл):\n");
    for d in list {
        let kind = match d.doc_type.as_str() {
            "manual" => "руководство",
            "drawing" => "чертёж",
            "schematic" => "схема",
            _ => "инструкция",
        };
        out.push_str(&format!(
            "\n• {} ({kind}; {})",
            d.title,
            d.models.join(", ")
        ));
    }
    out
}

pub fn search_results(query: &str, total: u64, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return NOTHING_FOUND.to_string();
    }
    let mut out = format!("Найдено: {total} · «{query}»\n");
    for (i, h) in hits.iter().enumerate() {
        let stock = if h.in_stock > 0 {
            format!("в наличии: {} шт.", h.in_stock)
        } else {
            "под заказ".to_string()
        };
        out.push_str(&format!(
            "\n{}. {}\nАрт. {} · {} · {stock}",
            i + 1,
            h.name,
            h.sku,
            price(h.price_rub)
        ));
        if !h.brand.is_empty() {
            out.push_str(&format!(" · {}", h.brand));
        }
        out.push('\n');
    }
    out
}

pub fn added_to_cart(sku: &str, lines: usize) -> String {
    format!("{sku} добавлен в корзину (позиций: {lines}).")
}

pub fn cart(lines: &[CartLine], total: f64) -> String {
    if lines.is_empty() {
        return CART_EMPTY.to_string();
    }
    let mut out = String::from("Корзина:\n");
    for l in lines {
        out.push_str(&format!(
            "\n• {} — {}\n  {} × {}",
            l.sku,
            l.name,
            l.qty,
            price(l.price_rub)
        ));
    }
    out.push_str(&format!("\n\nИтого: {}", rub(total)));
    if lines.iter().any(|l| l.price_rub.is_none()) {
        out.push_str(" (без позиций с ценой по запросу)");
    }
    out
}

pub fn order_created(lead: i64) -> String {
    format!("Заказ принят, номер обращения №{lead}. Менеджер подтвердит наличие и сроки.")
}

pub fn file_lead_created(kind: &str, lead: i64) -> String {
    let what = if kind == "invoice" {
        "на счёт"
    } else {
        "на коммерческое предложение"
    };
    format!(
        "Заявка {what} №{lead} принята, файл получен. Менеджер пришлёт ответ сюда или на почту."
    )
}

pub fn callback_created(lead: i64) -> String {
    format!("Спасибо! Заявка №{lead} принята — менеджер перезвонит в рабочее время.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Me, PeriodSpend, TicketEvent};

    #[test]
    fn the_greeting_names_the_role_the_server_sent() {
        let me = |role: serde_json::Value| -> Me {
            serde_json::from_value(serde_json::json!({
                "telegram_id": 1, "client_id": 2, "company": "ООО Завод", "role": role,
                "phone": null,
            }))
            .unwrap()
        };
        let greeting = |m: Me| menu_greeting(m.company.as_deref(), m.role);
        assert!(greeting(me("director".into())).contains("ООО Завод · директор"));
        assert!(greeting(me("procurement".into())).contains("снабжение"));
        // A role added on the server later, or none yet: the user still gets a menu.
        assert!(greeting(me("auditor".into())).contains("роль не назначена"));
        assert!(greeting(me(serde_json::Value::Null)).contains("роль не назначена"));
    }

    #[test]
    fn rubles_are_grouped() {
        assert_eq!(rub(0.0), "0 ₽");
        assert_eq!(rub(999.0), "999 ₽");
        assert_eq!(rub(1234567.0), "1 234 567 ₽");
        assert_eq!(rub(99.5), "99,50 ₽");
        assert_eq!(rub(1000.01), "1 000,01 ₽");
        assert_eq!(rub(-1500.0), "−1 500 ₽");
    }

    fn machine(i: usize) -> Machine {
        Machine {
            id: i as i64,
            serial_number: format!("SN-{i}"),
            model: "16К20".into(),
            product_name: Some("Станок токарно-винторезный".into()),
            sold_at: None,
            commissioned_at: None,
        }
    }

    #[test]
    fn park_pages_cover_every_machine_once() {
        let machines: Vec<Machine> = (1..=12).map(machine).collect();
        let mut seen = Vec::new();
        for p in 0..3 {
            let (text, page, pages) = park_page("ООО Завод", &machines, p);
            assert_eq!((page, pages), (p, 3));
            for m in &machines {
                if text.contains(&format!("№{}\n", m.serial_number)) {
                    seen.push(m.id);
                }
            }
        }
        seen.sort();
        assert_eq!(seen, (1..=12).collect::<Vec<i64>>());
        // A page past the end shows the last one.
        assert_eq!(park_page("ООО Завод", &machines, 9).1, 2);
    }

    #[test]
    fn times_are_shown_in_moscow() {
        assert_eq!(moscow_time("2026-12-31T21:30:00Z"), "01.01.2027 00:30");
        assert_eq!(moscow_time("2028-02-28T22:00:00Z"), "29.02.2028 01:00");
        assert_eq!(moscow_time("2026-03-01T10:05:00Z"), "01.03.2026 13:05");
        assert_eq!(moscow_time("вчера"), "вчера");
    }

    #[test]
    fn spend_states_the_change_and_both_periods() {
        let s = Spend {
            period: "quarter".into(),
            current: PeriodSpend {
                from: "2026-10-01".into(),
                to: "2027-01-01".into(),
                equipment_rub: 0.0,
                parts_rub: 50000.0,
                service_rub: 150000.0,
                total_rub: 200000.0,
            },
            previous: PeriodSpend {
                from: "2026-07-01".into(),
                to: "2026-10-01".into(),
                equipment_rub: 0.0,
                parts_rub: 60000.0,
                service_rub: 100000.0,
                total_rub: 160000.0,
            },
            change_pct: Some(25.0),
            deals_in_work: 2,
            deals_in_work_rub: 3_458_000.0,
        };
        let t = spend(&s);
        assert!(t.contains("Текущий квартал"), "{t}");
        assert!(t.contains("Итого: 200 000 ₽"), "{t}");
        assert!(t.contains("+25.0%"), "{t}");
        assert!(t.contains("160 000 ₽"), "{t}");
        assert!(t.contains("Запчасти: 50 000 ₽ (было 60 000 ₽)"), "{t}");
        assert!(
            t.contains("Сервис и ремонт: 150 000 ₽ (было 100 000 ₽)"),
            "{t}"
        );
        assert!(t.contains("Сделки в работе: 2 на 3 458 000 ₽"), "{t}");
    }

    #[test]
    fn tickets_show_history_in_russian() {
        let t = Ticket {
            id: 9,
            serial_number: "SN-1".into(),
            model: "16К20".into(),
            kind: "sos".into(),
            status: "waiting_parts".into(),
            description: "стук в шпинделе".into(),
            created_at: "2026-11-20T10:00:00Z".into(),
            history: vec![
                TicketEvent {
                    status: "new".into(),
                    comment: String::new(),
                    at: "2026-11-20T10:00:00Z".into(),
                },
                TicketEvent {
                    status: "waiting_parts".into(),
                    comment: "заказан подшипник".into(),
                    at: "2026-11-21T09:30:00Z".into(),
                },
            ],
        };
        let text = tickets(&[t]);
        assert!(text.contains("№9 — 16К20 №SN-1 — ждём запчасти"), "{text}");
        assert!(
            text.contains("21.11.2026 12:30 · ждём запчасти — заказан подшипник"),
            "{text}"
        );
        assert_eq!(tickets(&[]), NO_TICKETS);
    }
}
