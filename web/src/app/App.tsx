import { Route, Switch } from "wouter";
import { SearchPage } from "../features/catalog/SearchPage";
import { ProductPage } from "../features/catalog/ProductPage";
import { CartPage } from "../features/cart/CartPage";
import { Layout } from "./Layout";
import { NotFound } from "./NotFound";

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The catalog's pages; the site and the Mini App (under `/tma`) both render them. */
export function CatalogRoutes({ extra }: { extra?: React.ReactNode }) {
  return (
    <Switch>
      <Route path="/">
        <SearchPage />
      </Route>
      <Route path="/p/:id">{(p) => <ProductPage key={p.id} id={decode(p.id)} />}</Route>
      <Route path="/c/:category">{(p) => <SearchPage key={p.category} category={decode(p.category)} />}</Route>
      <Route path="/cart">
        <CartPage />
      </Route>
      {extra}
      <Route>
        <NotFound />
      </Route>
    </Switch>
  );
}

export function App() {
  return (
    <Layout>
      <CatalogRoutes />
    </Layout>
  );
}
