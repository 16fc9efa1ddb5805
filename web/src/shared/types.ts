// Types of the server's JSON (see /api/v1/openapi.json). The browser suite checks every field
// named here against that document (e2e/openapi.test.ts), so a renamed field fails a test.

export type Kind = "product" | "spare_part";

export interface Hit {
  id: string;
  kind: Kind;
  sku: string;
  name: string;
  brand: string;
  model: string;
  category: string;
  price_rub: number | null;
  in_stock: number;
  score: number;
  exact: boolean;
  highlights: Partial<Record<"name" | "description", string>>;
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface SearchResponse {
  query: string;
  mode: string;
  total: number;
  took_ms: number;
  hits: Hit[];
  facets: Partial<Record<"kind" | "category" | "brand", FacetValue[]>>;
  /** The filters to offer, in order, with their labels (configured in the CMS). */
  filters?: FilterConf[];
}

export type FilterField = "kind" | "category" | "brand" | "compatible_with" | "in_stock" | "price";

export interface FilterConf {
  field: FilterField;
  label: string;
}

export interface Suggestion {
  id: string;
  name: string;
  sku: string;
  model: string;
}

export interface SuggestResponse {
  query: string;
  suggestions: Suggestion[];
}

export interface CatalogLink {
  id: string;
  sku: string;
  name: string;
  model: string;
}

export interface CatalogItem {
  id: string;
  kind: Kind;
  sku: string;
  name: string;
  brand: string;
  model: string;
  category: string;
  description: string;
  attributes: Record<string, unknown>;
  attribute_list: AttributeRow[];
  compatible_models: string[];
  price_rub: number | null;
  in_stock: number;
  compatible_machines: CatalogLink[];
  compatible_parts: CatalogLink[];
  /** The picture uploaded in the CMS: a path on this site, resized with `?w=320|640|1280`. */
  image?: string | null;
}

export interface AttributeRow {
  name: string;
  label: string;
  value: string;
}

export interface LeadView {
  id: number;
  source: string;
  kind: string;
  status: string;
  contact: unknown;
  payload: unknown;
  ticket_id: number | null;
  created_at: string;
  /** Given to the lead's creator: opens uploads to it (`X-Upload-Token`). */
  upload_token?: string;
}

export interface Me {
  telegram_id: number;
  client_id: number | null;
  company: string | null;
  role: "director" | "engineer" | "procurement" | null;
  phone: string | null;
  first_name: string;
}

export interface Machine {
  id: number;
  serial_number: string;
  model: string;
  product_id: string | null;
  product_name: string | null;
  sold_at: string | null;
  commissioned_at: string | null;
  crm_deal_id: number | null;
  passport: Record<string, unknown>;
}

export interface ParkTicket {
  id: number;
  machine_instance_id: number;
  kind: string;
  status: string;
  description: string;
  created_at: string;
}

export interface Park {
  client_id: number;
  company: string;
  machines: Machine[];
  open_tickets: ParkTicket[];
}

export interface TicketEvent {
  status: string;
  comment: string;
  at: string;
}

export interface TicketDetail {
  id: number;
  machine_instance_id: number;
  serial_number: string;
  model: string;
  kind: string;
  status: string;
  description: string;
  created_at: string;
  closed_at: string | null;
  history: TicketEvent[];
}

export interface ClientTickets {
  client_id: number;
  tickets: TicketDetail[];
}

export interface KbDocument {
  id: number;
  title: string;
  doc_type: string;
  file_name: string;
  mime_type: string;
  size_bytes: number;
  models: string[];
}

export interface ClientDocuments {
  client_id: number;
  documents: KbDocument[];
}

/** Field names per OpenAPI schema that the app reads; checked against the live document. */
export const USED_FIELDS: Record<string, string[]> = {
  Hit: ["id", "kind", "sku", "name", "brand", "model", "category", "price_rub", "in_stock", "exact", "highlights"],
  SearchResponse: ["query", "total", "hits", "facets", "filters"],
  FacetValue: ["value", "count"],
  FilterConf: ["field", "label"],
  Suggestion: ["id", "name", "sku", "model"],
  SuggestResponse: ["suggestions"],
  CatalogItem: [
    "id", "kind", "sku", "name", "brand", "model", "category", "description", "attribute_list",
    "compatible_models", "price_rub", "in_stock", "compatible_machines", "compatible_parts", "image",
  ],
  CatalogLink: ["id", "sku", "name", "model"],
  AttributeRow: ["name", "label", "value"],
  LeadView: ["id", "kind", "status", "ticket_id"],
  Me: ["telegram_id", "client_id", "company", "role", "first_name"],
  Machine: ["id", "serial_number", "model", "product_id", "product_name", "sold_at", "commissioned_at", "passport"],
  Park: ["client_id", "company", "machines", "open_tickets"],
  TicketDetail: ["id", "serial_number", "model", "status", "description", "created_at", "history"],
  TicketEvent: ["status", "comment", "at"],
  Document: ["id", "title", "doc_type", "file_name", "size_bytes", "models"],
};
