//! The OpenAPI 3 document, built from the same constants the handlers validate with.

use super::{MAX_BODY_BYTES, MAX_LIMIT, MAX_OFFSET};
use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn search_params() -> Value {
    json!([
        {"name": "q", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "maxLength": search_core::engine::MAX_QUERY_CHARS}},
        {"name": "mode", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "enum": ["hybrid", "lexical", "semantic"], "default": "hybrid"}},
        {"name": "kind", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "enum": ["product", "spare_part"]}},
        {"name": "category", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "maxLength": 200}},
        {"name": "brand", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "maxLength": 200}},
        {"name": "compatible_with", "in": "query", "allowEmptyValue": true, "schema": {"type": "string", "maxLength": 200}},
        {"name": "in_stock", "in": "query", "allowEmptyValue": true, "schema": {"type": "boolean"}},
        {"name": "price_min", "in": "query", "allowEmptyValue": true, "schema": {"type": "number", "minimum": 0}},
        {"name": "price_max", "in": "query", "allowEmptyValue": true, "description": "Not below price_min (400 otherwise).", "schema": {"type": "number", "minimum": 0}},
        {"name": "limit", "in": "query", "allowEmptyValue": true, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
        {"name": "offset", "in": "query", "allowEmptyValue": true, "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}}
    ])
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn document() -> Value {
    let search_ok = json!({"description": "Результаты поиска", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResponse"}}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Stanok catalog search API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Hybrid (full-text + vector) search over machine tools and spare parts."},
        "paths": {
            "/api/v1/search": {
                "get": {"summary": "Search the catalog", "operationId": "searchGet", "parameters": search_params(),
                        "responses": {"200": search_ok.clone(), "400": error_response("Неверный параметр"), "503": error_response("Индекс не готов")}},
                "post": {"summary": "Search the catalog (JSON body)", "operationId": "searchPost",
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchRequest"}}}},
                         "responses": {"200": search_ok, "400": error_response("Неверный запрос"), "413": error_response(&format!("Тело больше {MAX_BODY_BYTES} байт")), "503": error_response("Индекс не готов")}}
            },
            "/api/v1/catalog/{id}": {"get": {"summary": "One catalog item with compatibility", "operationId": "catalogItem",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 128}}],
                "responses": {"200": {"description": "Позиция каталога", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogItem"}}}},
                              "400": error_response("Неверный id"), "404": error_response("Не найдено"), "503": error_response("Индекс не готов")}}},
            "/api/v1/suggest": {"get": {"summary": "Search-as-you-type completion", "operationId": "suggest",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 8}}],
                "responses": {"200": {"description": "Подсказки", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SuggestResponse"}}}},
                              "400": error_response("Неверный параметр"), "503": error_response("Индекс не готов")}}},
            "/api/v1/index/status": {"get": {"summary": "Indexer status", "operationId": "indexStatus",
                "responses": {"200": {"description": "Состояние индекса", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IndexStatus"}}}}}}},
            "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/readyz": {"get": {"summary": "Readiness (index loaded)", "operationId": "readyz",
                "responses": {"200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object"}}}}, "503": error_response("Индекс не готов")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/api/v1/leads": {
                "post": {"summary": "Submit a lead (cart order, SOS, invoice/quote request, callback)", "operationId": "createLead",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LeadRequest"}}}},
                    "responses": {"201": {"description": "Заявка принята (при повторе с тем же ключом — первая)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Lead"}}}},
                                  "400": error_response("Неверная заявка"), "401": error_response("Неверные данные Mini App"),
                                  "413": error_response("Тело слишком большое"), "422": error_response("Ключ уже использован для другой заявки")}},
                "get": {"summary": "Leads by sync state (operators)", "operationId": "listLeads", "security": [{"adminToken": []}],
                    "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "lead_created", "synced", "failed"], "default": "failed"}},
                                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
                    "responses": {"200": {"description": "Заявки", "content": {"application/json": {"schema": {"type": "object", "required": ["status", "leads"],
                                      "properties": {"status": {"type": "string"}, "leads": {"type": "array", "items": {"type": "object"}}}}}}},
                                  "400": error_response("Неверный параметр"), "401": error_response("Нет токена"), "403": error_response("Администрирование отключено")}}
            },
            "/api/v1/leads/{id}/attachments": {"post": {"summary": "Attach a file (JPEG, PNG, WebP or PDF; the body is the file)", "operationId": "addAttachment",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "name", "in": "query", "schema": {"type": "string", "maxLength": 200}}],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"201": {"description": "Файл сохранён", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}},
                              "400": error_response("Неверный запрос"), "404": error_response("Нет такой заявки"),
                              "413": error_response("Файл слишком большой"), "415": error_response("Неподдерживаемый тип файла")}}},
            "/api/v1/leads/{id}/attachments/{sha256}": {"get": {"summary": "Download an attachment by a signed link from the CRM note", "operationId": "getAttachment",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "sha256", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"name": "sig", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Файл", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                              "400": error_response("Неверный запрос"), "401": error_response("Неверная подпись"), "404": error_response("Нет файла")}}},
            "/api/v1/webhooks/amocrm/{secret}": {"post": {"summary": "amoCRM status-change webhook (digital passport)", "operationId": "amocrmWebhook",
                "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}}},
                "responses": {"200": {"description": "Принято", "content": {"application/json": {"schema": {"type": "object", "required": ["received", "stored"],
                                  "properties": {"received": {"type": "integer"}, "stored": {"type": "integer"}}}}}},
                              "400": error_response("Неверное тело"), "403": error_response("Чужой аккаунт"), "404": error_response("Неизвестный адрес")}}},
            "/api/v1/clients/{id}/park": {"get": {"summary": "A client's machines and open tickets (Мой парк)", "operationId": "clientPark",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Парк", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Park"}}}},
                              "400": error_response("Неверный id"), "401": error_response("Нужна авторизация"),
                              "403": error_response("Чужой клиент"), "404": error_response("Нет клиента")}}},
            "/api/v1/clients/{id}/spend": {"get": {"summary": "A client's spend on maintenance and orders, this period vs the previous (directors)", "operationId": "clientSpend",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
                               {"name": "period", "in": "query", "schema": {"type": "string", "enum": ["month", "quarter", "year"], "default": "month"}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Расходы", "content": {"application/json": {"schema": {"type": "object", "required": ["period", "current", "previous"],
                                  "properties": {"period": {"type": "string"}, "current": {"type": "object"}, "previous": {"type": "object"},
                                                 "change_pct": {"type": "number", "nullable": true}}}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа")}}},
            "/api/v1/telegram/link": {"post": {"summary": "Link a Telegram user to a client by the phone they shared (the bot)", "operationId": "linkTelegram",
                "security": [{"botService": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                    "required": ["telegram_id", "phone"], "properties": {"telegram_id": {"type": "integer"}, "phone": {"type": "string"},
                    "first_name": {"type": "string", "maxLength": 200}, "username": {"type": "string", "nullable": true}}}}}},
                "responses": {"200": {"description": "Привязка", "content": {"application/json": {"schema": {"type": "object", "required": ["telegram_id"],
                                  "properties": {"telegram_id": {"type": "integer"}, "client_id": {"type": "integer", "nullable": true},
                                                 "company": {"type": "string", "nullable": true}, "role": {"type": "string", "nullable": true}}}}}},
                              "400": error_response("Неверный запрос"), "401": error_response("Нужен токен бота")}}},
            "/api/v1/telegram/me": {"get": {"summary": "The Telegram user the caller speaks for: client, company, role", "operationId": "telegramMe",
                "security": [{"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Пользователь", "content": {"application/json": {"schema": {"type": "object", "required": ["telegram_id", "first_name"],
                                  "properties": {"telegram_id": {"type": "integer"}, "client_id": {"type": "integer", "nullable": true}, "company": {"type": "string", "nullable": true},
                                                 "role": {"type": "string", "nullable": true}, "phone": {"type": "string", "nullable": true}, "first_name": {"type": "string"}}}}}},
                              "400": error_response("Неверный заголовок"), "401": error_response("Нужна авторизация"), "404": error_response("Пользователь не найден")}}},
            "/api/v1/admin/telegram-users/{telegram_id}/role": {"post": {"summary": "Assign a role to a linked Telegram user (operators)", "operationId": "setTelegramRole",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "telegram_id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["role"],
                    "properties": {"role": {"type": "string", "enum": leads::portal::ROLES}}}}}},
                "responses": {"200": {"description": "Роль назначена", "content": {"application/json": {"schema": {"type": "object"}}}},
                              "400": error_response("Неверный запрос"), "401": error_response("Нет или неверный токен"), "403": error_response("Администрирование отключено"), "404": error_response("Пользователь не найден")}}},
            "/api/v1/admin/tickets/{id}/status": {"post": {"summary": "Move a service ticket to a status (operators); recorded in its history", "operationId": "setTicketStatus",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": leads::portal::TICKET_STATUSES}, "comment": {"type": "string", "maxLength": 1000}}}}}},
                "responses": {"200": {"description": "Статус изменён", "content": {"application/json": {"schema": {"type": "object"}}}},
                              "400": error_response("Неверный запрос"), "401": error_response("Нет или неверный токен"), "403": error_response("Администрирование отключено"), "404": error_response("Заявка не найдена")}}},
            "/api/v1/admin/documents": {"post": {"summary": "Add a knowledge-base document (PDF or image) for models (operators); the body is the file", "operationId": "addDocument",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "title", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 300}},
                               {"name": "doc_type", "in": "query", "schema": {"type": "string", "enum": leads::portal::DOC_TYPES, "default": "manual"}},
                               {"name": "models", "in": "query", "required": true, "description": "Comma-separated model names", "schema": {"type": "string", "minLength": 1}},
                               {"name": "name", "in": "query", "schema": {"type": "string", "maxLength": 200}}],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"201": {"description": "Документ сохранён", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                              "400": error_response("Неверный запрос"), "401": error_response("Нет или неверный токен"), "403": error_response("Администрирование отключено"),
                              "413": error_response("Файл слишком большой"), "415": error_response("Тип файла не поддерживается")}}},
            "/api/v1/clients/{id}/tickets": {"get": {"summary": "A client's service tickets with status history (users of that client)", "operationId": "clientTickets",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "include_closed", "in": "query", "schema": {"type": "boolean", "default": false}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Заявки на сервис", "content": {"application/json": {"schema": {"type": "object", "required": ["client_id", "tickets"]}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа")}}},
            "/api/v1/clients/{id}/projects": {"get": {"summary": "Proposed and active modernisation projects (directors)", "operationId": "clientProjects",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Проекты", "content": {"application/json": {"schema": {"type": "object", "required": ["client_id", "projects"]}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа")}}},
            "/api/v1/clients/{id}/offers": {"get": {"summary": "Personal offers still valid (directors)", "operationId": "clientOffers",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Предложения", "content": {"application/json": {"schema": {"type": "object", "required": ["client_id", "offers"]}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа")}}},
            "/api/v1/clients/{id}/orders/{number}/shipments": {"get": {"summary": "An order's status and shipments (procurement, directors)", "operationId": "orderShipments",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "number", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Заказ и отгрузки", "content": {"application/json": {"schema": {"type": "object", "required": ["number", "status", "shipments"]}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа"), "404": error_response("Заказ не найден")}}},
            "/api/v1/clients/{id}/documents": {"get": {"summary": "Knowledge-base documents for the models in the client's park (engineers, directors)", "operationId": "clientDocuments",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Документы", "content": {"application/json": {"schema": {"type": "object", "required": ["client_id", "documents"],
                                  "properties": {"client_id": {"type": "integer"}, "documents": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}}}}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа")}}},
            "/api/v1/clients/{id}/documents/{document_id}/file": {"get": {"summary": "Download a knowledge-base document (engineers, directors)", "operationId": "documentFile",
                "security": [{"adminToken": []}, {"telegramInitData": []}, {"botService": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "document_id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "X-Telegram-User-Id", "in": "header", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Файл", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                              "400": error_response("Неверный параметр"), "401": error_response("Нужна авторизация"), "403": error_response("Нет доступа"), "404": error_response("Документ не найден")}}},
            "/api/v1/admin/reindex": {"post": {"summary": "Rebuild the index from Postgres and swap it in (search keeps serving)", "operationId": "adminReindex",
                "security": [{"adminToken": []}],
                "responses": {"202": {"description": "Переиндексация запущена", "content": {"application/json": {"schema": {"type": "object"}}}},
                              "401": error_response("Нет или неверный токен"), "403": error_response("Администрирование отключено"),
                              "409": error_response("Переиндексация уже идёт")}}}
        },
        "components": {
          "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer", "description": "ADMIN_TOKEN of the server"},
                              "botService": {"type": "http", "scheme": "bearer", "description": "BOT_SERVICE_TOKEN plus X-Telegram-User-Id"},
                              "telegramInitData": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "tma <Mini App initData>"}},
          "schemas": {
            "Document": {"type": "object", "required": ["id", "title", "doc_type", "file_name", "mime_type", "size_bytes", "sha256", "models"], "properties": {
                "id": {"type": "integer"}, "title": {"type": "string"}, "doc_type": {"type": "string"}, "file_name": {"type": "string"},
                "mime_type": {"type": "string"}, "size_bytes": {"type": "integer"}, "sha256": {"type": "string"}, "models": {"type": "array", "items": {"type": "string"}}}},
            "LeadRequest": {"type": "object", "additionalProperties": false, "required": ["source", "kind", "contact"], "properties": {
                "source": {"type": "string", "enum": ["site", "bot", "tma"]},
                "kind": {"type": "string", "enum": ["cart", "sos", "invoice", "quote", "callback"]},
                "contact": {"type": "object", "additionalProperties": false, "properties": {
                    "name": {"type": "string", "nullable": true}, "phone": {"type": "string", "nullable": true}, "email": {"type": "string", "nullable": true}}},
                "payload": {"description": "cart: {lines: [{catalog_id, qty, price_rub}], comment}; sos: {machine_instance_id, description}; others: {comment, order_number}"}}},
            "Lead": {"type": "object", "required": ["id", "source", "kind", "status", "contact", "payload", "created_at"], "properties": {
                "id": {"type": "integer"}, "source": {"type": "string"}, "kind": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "lead_created", "synced", "failed"]},
                "contact": {"type": "object"}, "payload": {"type": "object"}, "ticket_id": {"type": "integer", "nullable": true},
                "created_at": {"type": "string"}}},
            "Attachment": {"type": "object", "required": ["id", "lead_id", "sha256", "file_name", "mime_type", "size_bytes"], "properties": {
                "id": {"type": "integer"}, "lead_id": {"type": "integer"}, "sha256": {"type": "string"}, "file_name": {"type": "string"},
                "mime_type": {"type": "string", "enum": ["image/jpeg", "image/png", "image/webp", "application/pdf"]}, "size_bytes": {"type": "integer"}}},
            "Park": {"type": "object", "required": ["client_id", "company", "machines", "open_tickets"], "properties": {
                "client_id": {"type": "integer"}, "company": {"type": "string"},
                "machines": {"type": "array", "items": {"type": "object"}}, "open_tickets": {"type": "array", "items": {"type": "object"}}}},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "SearchRequest": {"type": "object", "additionalProperties": false,
                "description": "Every field is optional; null means absent. price_min must not exceed price_max (400 otherwise).",
                "properties": {
                "q": {"type": "string", "nullable": true, "maxLength": search_core::engine::MAX_QUERY_CHARS},
                "mode": {"type": "string", "nullable": true, "enum": ["hybrid", "lexical", "semantic", null]},
                "kind": {"type": "string", "nullable": true, "enum": ["product", "spare_part", null]},
                "category": {"type": "string", "nullable": true, "maxLength": 200}, "brand": {"type": "string", "nullable": true, "maxLength": 200},
                "compatible_with": {"type": "string", "nullable": true, "maxLength": 200}, "in_stock": {"type": "boolean", "nullable": true},
                "price_min": {"type": "number", "nullable": true, "minimum": 0}, "price_max": {"type": "number", "nullable": true, "minimum": 0},
                "limit": {"type": "integer", "nullable": true, "minimum": 1, "maximum": MAX_LIMIT},
                "offset": {"type": "integer", "nullable": true, "minimum": 0, "maximum": MAX_OFFSET}}},
            "Hit": {"type": "object", "required": ["id", "kind", "sku", "name", "brand", "model", "category", "in_stock", "score", "exact", "highlights"], "properties": {
                "id": {"type": "string"}, "kind": {"type": "string", "enum": ["product", "spare_part"]}, "sku": {"type": "string"},
                "name": {"type": "string"}, "brand": {"type": "string"}, "model": {"type": "string"}, "category": {"type": "string"},
                "price_rub": {"type": "number", "nullable": true}, "in_stock": {"type": "integer"}, "score": {"type": "number"},
                "exact": {"type": "boolean"}, "highlights": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "FacetValue": {"type": "object", "required": ["value", "count"], "properties": {"value": {"type": "string"}, "count": {"type": "integer"}}},
            "SearchResponse": {"type": "object", "required": ["query", "mode", "total", "took_ms", "hits", "facets"], "properties": {
                "query": {"type": "string"}, "mode": {"type": "string", "enum": ["hybrid", "lexical", "semantic"]}, "total": {"type": "integer"},
                "took_ms": {"type": "number"}, "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                "facets": {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}}}}},
            "Link": {"type": "object", "properties": {"id": {"type": "string"}, "sku": {"type": "string"}, "name": {"type": "string"}, "model": {"type": "string"}}},
            "CatalogItem": {"type": "object", "required": ["id", "kind", "name"], "properties": {
                "id": {"type": "string"}, "kind": {"type": "string"}, "sku": {"type": "string"}, "name": {"type": "string"},
                "brand": {"type": "string"}, "model": {"type": "string"}, "category": {"type": "string"}, "description": {"type": "string"},
                "attributes": {"type": "object"}, "compatible_models": {"type": "array", "items": {"type": "string"}},
                "price_rub": {"type": "number", "nullable": true}, "in_stock": {"type": "integer"},
                "compatible_machines": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "compatible_parts": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            "SuggestResponse": {"type": "object", "required": ["query", "suggestions"], "properties": {"query": {"type": "string"},
                "suggestions": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            "IndexStatus": {"type": "object", "required": ["ready", "documents", "last_applied_change", "pending_changes", "documents_without_vector", "model"], "properties": {
                "ready": {"type": "boolean"}, "documents": {"type": "integer"}, "last_applied_change": {"type": "integer"},
                "pending_changes": {"type": "integer"}, "documents_without_vector": {"type": "integer"}, "model": {"type": "string"},
                "lag_ms": {"type": "integer"}, "last_batch_ms": {"type": "integer"},
                "reindex": {"type": "object", "required": ["state"], "properties": {
                    "state": {"type": "string", "enum": ["idle", "running", "done", "failed"]},
                    "started_unix": {"type": "integer"}, "documents": {"type": "integer"}, "applied_seq": {"type": "integer"},
                    "seconds": {"type": "number"}, "generation": {"type": "string"}, "error": {"type": "string"}}}}}
        }}
    })
}

/// A small human-readable API page.
pub const HTML_PAGE: &str = r#"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>API поиска по каталогу</title>
<style>body{font-family:sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5}code{background:#f2f2f2;padding:0 .2rem}</style></head>
<body><h1>API поиска по каталогу станков и запчастей</h1>
<p>Машиночитаемое описание: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3).</p>
<h2>Поиск</h2><p><code>GET /api/v1/search?q=подшипник шпинделя 16К20&amp;limit=10</code> — гибридный поиск (полнотекстовый + векторный).
Параметры: <code>q</code>, <code>mode</code> (hybrid | lexical | semantic), <code>kind</code> (product | spare_part), <code>category</code>,
<code>brand</code>, <code>compatible_with</code>, <code>in_stock</code>, <code>price_min</code>, <code>price_max</code>, <code>limit</code> (1–100), <code>offset</code>.
Пустой <code>q</code> с фильтрами — просмотр каталога. То же самое принимает <code>POST /api/v1/search</code> с JSON-телом.</p>
<h2>Позиция каталога</h2><p><code>GET /api/v1/catalog/{id}</code> — все поля и совместимость.</p>
<h2>Подсказки</h2><p><code>GET /api/v1/suggest?q=SFU16</code> — дополнение по названиям, моделям и артикулам.</p>
<h2>Служебное</h2><p><code>/api/v1/index/status</code>, <code>/healthz</code>, <code>/readyz</code>, <code>/metrics</code>.</p>
<h2>Ошибки</h2><p>Всегда JSON: <code>{"error": {"code": "...", "message": "..."}}</code>.</p>
</body></html>"#;
