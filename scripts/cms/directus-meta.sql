-- How Directus presents the content tables to managers: Russian names and notes, editors that
-- fit each column (Markdown, tags, picture upload, item picker), and the picture and catalog
-- links as Directus relations. Written into Directus's own tables (schema `directus`) by its
-- role after `directus bootstrap` and before `directus start`, so Directus reads it on start.
-- Directus cannot add these relations through its API: that would add foreign keys to tables
-- the CMS role does not own, and the ownership of the schema stays with the migrations.
\set ON_ERROR_STOP on
SET search_path = directus, public;
BEGIN;
DELETE FROM directus_relations WHERE many_collection IN
    ('articles', 'seo_meta', 'seo_templates', 'catalog_filters', 'search_synonyms', 'catalog_item_content', 'catalog_items');
DELETE FROM directus_fields WHERE collection IN
    ('articles', 'seo_meta', 'seo_templates', 'catalog_filters', 'search_synonyms', 'catalog_item_content', 'catalog_items');

INSERT INTO directus_collections (collection, icon, note, display_template, sort, archive_field, archive_value, unarchive_value, translations)
VALUES
  ('articles', 'article', 'Журнал: статьи на сайте (/journal). Видна, когда статус «published» и дата публикации наступила.', '{{title}}', 1, 'status', 'archived', 'draft',
   '[{"language":"ru-RU","translation":"Журнал","singular":"Статья","plural":"Статьи"}]'),
  ('catalog_item_content', 'edit_note', 'Тексты и фото товаров. Пустое поле — показывается текст из выгрузки 1С.', '{{item_id}} {{name}}', 2, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"Тексты товаров","singular":"Текст товара","plural":"Тексты товаров"}]'),
  ('catalog_items', 'inventory_2', 'Каталог из выгрузки 1С — только для чтения. Правки текстов — в «Тексты товаров».', '{{name}} ({{sku}})', 3, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"Каталог (1С)","singular":"Позиция","plural":"Позиции"}]'),
  ('seo_meta', 'travel_explore', 'SEO одной страницы по её адресу: /, /p/<id>, /c/<категория>, /journal/<slug>.', '{{path}}', 4, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"SEO страниц","singular":"SEO страницы","plural":"SEO страниц"}]'),
  ('seo_templates', 'auto_awesome', 'Шаблоны SEO по типу страницы. Подстановки: {name} {sku} {brand} {model} {category} {price} {title} {count}.', '{{page_type}}', 5, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"SEO-шаблоны","singular":"Шаблон","plural":"Шаблоны"}]'),
  ('catalog_filters', 'filter_alt', 'Фильтры каталога: какие показывать, в каком порядке и как назвать.', '{{label}}', 6, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"Фильтры каталога","singular":"Фильтр","plural":"Фильтры"}]'),
  ('search_synonyms', 'sync_alt', 'Синонимы поиска: запрос со словом находит и его синонимы.', '{{term}}', 7, NULL, NULL, NULL,
   '[{"language":"ru-RU","translation":"Синонимы поиска","singular":"Синоним","plural":"Синонимы"}]')
ON CONFLICT (collection) DO UPDATE SET icon = EXCLUDED.icon, note = EXCLUDED.note,
  display_template = EXCLUDED.display_template, sort = EXCLUDED.sort, archive_field = EXCLUDED.archive_field,
  archive_value = EXCLUDED.archive_value, unarchive_value = EXCLUDED.unarchive_value,
  translations = EXCLUDED.translations;

INSERT INTO directus_fields (collection, field, special, interface, options, display, readonly, hidden, sort, width, note, required)
VALUES
  ('articles', 'id', NULL, 'input', NULL, NULL, true, true, 1, 'full', NULL, false),
  ('articles', 'title', NULL, 'input', NULL, NULL, false, false, 2, 'full', 'Заголовок статьи', true),
  ('articles', 'slug', NULL, 'input', '{"slug":true,"placeholder":"kak-vybrat-podshipnik"}', NULL, false, false, 3, 'half', 'Адрес: /journal/<slug> — латиница, цифры, дефисы', true),
  ('articles', 'status', NULL, 'select-dropdown',
   '{"choices":[{"text":"Черновик","value":"draft"},{"text":"Опубликована","value":"published"},{"text":"В архиве","value":"archived"}]}',
   'labels', false, false, 4, 'half', NULL, true),
  ('articles', 'published_at', NULL, 'datetime', NULL, 'datetime', false, false, 5, 'half', 'Пусто при публикации — сейчас; будущая дата — отложенная публикация', false),
  ('articles', 'cover', 'file', 'file-image', NULL, 'image', false, false, 6, 'half', 'Обложка', false),
  ('articles', 'summary', NULL, 'input-multiline', NULL, NULL, false, false, 7, 'full', 'Анонс для списка и описания страницы', false),
  ('articles', 'body', NULL, 'input-rich-text-md', NULL, NULL, false, false, 8, 'full', 'Текст в Markdown', false),
  ('articles', 'seo_title', NULL, 'input', NULL, NULL, false, false, 9, 'half', 'Title для поисковиков (пусто — заголовок)', false),
  ('articles', 'seo_description', NULL, 'input-multiline', NULL, NULL, false, false, 10, 'half', 'Description (пусто — анонс)', false),
  ('articles', 'created_at', NULL, 'datetime', NULL, 'datetime', true, true, 11, 'half', NULL, false),
  ('articles', 'updated_at', NULL, 'datetime', NULL, 'datetime', true, false, 12, 'half', NULL, false),

  ('catalog_item_content', 'item_id', 'm2o', 'select-dropdown-m2o', '{"template":"{{name}} ({{sku}})"}', 'related-values', false, false, 1, 'full', 'Позиция каталога', true),
  ('catalog_item_content', 'name', NULL, 'input', NULL, NULL, false, false, 2, 'full', 'Название на сайте (пусто — из 1С)', false),
  ('catalog_item_content', 'description', NULL, 'input-multiline', NULL, NULL, false, false, 3, 'full', 'Описание на сайте (пусто — из 1С)', false),
  ('catalog_item_content', 'image', 'file', 'file-image', NULL, 'image', false, false, 4, 'half', 'Фото товара', false),
  ('catalog_item_content', 'seo_title', NULL, 'input', NULL, NULL, false, false, 5, 'half', NULL, false),
  ('catalog_item_content', 'seo_description', NULL, 'input-multiline', NULL, NULL, false, false, 6, 'full', NULL, false),
  ('catalog_item_content', 'updated_at', NULL, 'datetime', NULL, 'datetime', true, false, 7, 'half', NULL, false),

  ('seo_meta', 'path', NULL, 'input', '{"placeholder":"/p/16K20-710"}', NULL, false, false, 1, 'full', 'Адрес страницы, начинается с /', true),
  ('seo_meta', 'title', NULL, 'input', NULL, NULL, false, false, 2, 'full', NULL, true),
  ('seo_meta', 'description', NULL, 'input-multiline', NULL, NULL, false, false, 3, 'full', NULL, false),
  ('seo_meta', 'keywords', NULL, 'input', NULL, NULL, false, false, 4, 'full', 'Через запятую', false),
  ('seo_meta', 'canonical', NULL, 'input', NULL, NULL, false, false, 5, 'half', 'Канонический адрес (необязательно)', false),
  ('seo_meta', 'noindex', 'cast-boolean', 'boolean', NULL, 'boolean', false, false, 6, 'half', 'Скрыть страницу от поисковиков', false),
  ('seo_meta', 'image', 'file', 'file-image', NULL, 'image', false, false, 7, 'half', 'Картинка для превью ссылки', false),

  ('seo_templates', 'page_type', NULL, 'select-dropdown',
   '{"choices":[{"text":"Главная","value":"home"},{"text":"Станок","value":"product"},{"text":"Запчасть","value":"spare_part"},{"text":"Категория","value":"category"},{"text":"Журнал","value":"journal"},{"text":"Статья","value":"article"}]}',
   'labels', false, false, 1, 'full', NULL, true),
  ('seo_templates', 'title', NULL, 'input', '{"placeholder":"{name} — купить, цена {price}"}', NULL, false, false, 2, 'full', NULL, false),
  ('seo_templates', 'description', NULL, 'input-multiline', NULL, NULL, false, false, 3, 'full', NULL, false),

  ('catalog_filters', 'id', NULL, 'input', NULL, NULL, true, true, 1, 'full', NULL, false),
  ('catalog_filters', 'field', NULL, 'select-dropdown',
   '{"choices":[{"text":"Тип (станок/запчасть)","value":"kind"},{"text":"Категория","value":"category"},{"text":"Производитель","value":"brand"},{"text":"Модель станка","value":"compatible_with"},{"text":"Наличие","value":"in_stock"},{"text":"Цена","value":"price"}]}',
   NULL, false, false, 2, 'half', NULL, true),
  ('catalog_filters', 'label', NULL, 'input', NULL, NULL, false, false, 3, 'half', 'Подпись на сайте', true),
  ('catalog_filters', 'position', NULL, 'input', NULL, NULL, false, false, 4, 'half', 'Порядок: меньше — выше', false),
  ('catalog_filters', 'enabled', 'cast-boolean', 'boolean', NULL, 'boolean', false, false, 5, 'half', 'Показывать', false),

  ('search_synonyms', 'id', NULL, 'input', NULL, NULL, true, true, 1, 'full', NULL, false),
  ('search_synonyms', 'term', NULL, 'input', '{"placeholder":"швп"}', NULL, false, false, 2, 'full', 'Слово или фраза', true),
  ('search_synonyms', 'synonyms', 'cast-csv', 'tags', '{"placeholder":"шарико-винтовая пара"}', 'labels', false, false, 3, 'full', 'Равнозначные слова и фразы', true);

INSERT INTO directus_relations (many_collection, many_field, one_collection) VALUES
  ('articles', 'cover', 'directus_files'),
  ('catalog_item_content', 'image', 'directus_files'),
  ('seo_meta', 'image', 'directus_files'),
  ('catalog_item_content', 'item_id', 'catalog_items');
-- Field names in Russian.
UPDATE directus_fields f SET translations = json_build_array(json_build_object('language', 'ru-RU', 'translation', t.label))
FROM (VALUES
  ('articles', 'title', 'Заголовок'),
  ('articles', 'slug', 'Адрес (slug)'),
  ('articles', 'status', 'Статус'),
  ('articles', 'published_at', 'Дата публикации'),
  ('articles', 'cover', 'Обложка'),
  ('articles', 'summary', 'Анонс'),
  ('articles', 'body', 'Текст'),
  ('articles', 'seo_title', 'SEO title'),
  ('articles', 'seo_description', 'SEO description'),
  ('articles', 'created_at', 'Создана'),
  ('articles', 'updated_at', 'Изменена'),
  ('catalog_item_content', 'item_id', 'Позиция каталога'),
  ('catalog_item_content', 'name', 'Название'),
  ('catalog_item_content', 'description', 'Описание'),
  ('catalog_item_content', 'image', 'Фото'),
  ('catalog_item_content', 'seo_title', 'SEO title'),
  ('catalog_item_content', 'seo_description', 'SEO description'),
  ('catalog_item_content', 'updated_at', 'Изменено'),
  ('seo_meta', 'path', 'Адрес страницы'),
  ('seo_meta', 'title', 'Title'),
  ('seo_meta', 'description', 'Description'),
  ('seo_meta', 'keywords', 'Ключевые слова'),
  ('seo_meta', 'canonical', 'Канонический адрес'),
  ('seo_meta', 'noindex', 'Скрыть от поисковиков'),
  ('seo_meta', 'image', 'Картинка превью'),
  ('seo_templates', 'page_type', 'Тип страницы'),
  ('seo_templates', 'title', 'Шаблон title'),
  ('seo_templates', 'description', 'Шаблон description'),
  ('catalog_filters', 'field', 'Фильтр'),
  ('catalog_filters', 'label', 'Подпись'),
  ('catalog_filters', 'position', 'Порядок'),
  ('catalog_filters', 'enabled', 'Показывать'),
  ('search_synonyms', 'term', 'Слово'),
  ('search_synonyms', 'synonyms', 'Синонимы')
) AS t(collection, field, label)
WHERE f.collection = t.collection AND f.field = t.field;
-- The status as words, not codes.
UPDATE directus_fields SET display_options = '{"choices":[{"text":"Черновик","value":"draft","foreground":"#5b6576","background":"#eef0f3"},{"text":"Опубликована","value":"published","foreground":"#ffffff","background":"#067647"},{"text":"В архиве","value":"archived","foreground":"#5b6576","background":"#dde1e7"}]}'
WHERE collection = 'articles' AND field = 'status';

-- The admin app in Russian for everyone who has not picked a language.
INSERT INTO directus_settings (project_name, default_language)
SELECT 'Станок — контент', 'ru-RU' WHERE NOT EXISTS (SELECT 1 FROM directus_settings);
UPDATE directus_settings SET project_name = 'Станок — контент', default_language = 'ru-RU';
-- Directus 11 asks the first admin who owns the project (its licence terms) in a dialog; the
-- operator running scripts/cms.sh answers it here: the admin's address, commercial use.
UPDATE directus_settings SET project_owner = :'owner', project_usage = 'commercial', org_name = 'Станок'
WHERE project_owner IS NULL;
COMMIT;
