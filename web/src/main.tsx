import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./index.css";
import { App } from "./app/App";

const root = createRoot(document.getElementById("root")!);

// Inside Telegram the Mini App loads its own chunk (the Telegram SDK and the park screens), so
// the public site's entry stays small.
if (location.pathname === "/tma" || location.pathname.startsWith("/tma/")) {
  void import("./features/tma/TmaApp").then(({ TmaApp }) =>
    root.render(
      <StrictMode>
        <TmaApp />
      </StrictMode>,
    ),
  );
} else if (location.pathname === "/app" || location.pathname.startsWith("/app/")) {
  void import("./features/field/FieldApp").then(({ FieldApp }) =>
    root.render(
      <StrictMode>
        <FieldApp />
      </StrictMode>,
    ),
  );
} else {
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
