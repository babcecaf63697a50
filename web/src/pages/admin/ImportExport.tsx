import { useState } from "react";
import { json, raw } from "../../api/client";
import { ErrorBanner, Notice } from "../../components/ui";

export function ImportExport() {
  const [error, setError] = useState<unknown>(null);
  const [report, setReport] = useState<string | null>(null);
  const [mode, setMode] = useState<"merge" | "replace">("merge");
  return (
    <section>
      <h1>Import and export</h1>
      <p className="muted">The catalog in Coopr's JSON: providers, hardware and image types, services, templates.</p>
      <ErrorBanner error={error} />
      {report ? <Notice>{report}</Notice> : null}
      <div className="card">
        <h2>Export</h2>
        <button
          type="button"
          onClick={async () => {
            setError(null);
            try {
              const bundle = await json<unknown>("GET", "/v2/export");
              const url = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: "application/json" }));
              const a = document.createElement("a");
              a.href = url;
              a.download = "weft-catalog.json";
              a.click();
              URL.revokeObjectURL(url);
            } catch (e) {
              setError(e);
            }
          }}
        >
          Download the catalog
        </button>
      </div>
      <div className="card">
        <h2>Import</h2>
        <label className="check">
          <input type="radio" name="mode" checked={mode === "merge"} onChange={() => setMode("merge")} /> merge: each
          imported entity becomes a new version, others are kept
        </label>
        <label className="check">
          <input type="radio" name="mode" checked={mode === "replace"} onChange={() => setMode("replace")} /> replace:
          each type in the file is emptied first (Coopr's import)
        </label>
        <label>
          Catalog file{" "}
          <input
            type="file"
            accept="application/json,.json"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setError(null);
              setReport(null);
              try {
                const response = await raw("POST", `/v2/import?mode=${mode}`, await file.text(), "application/json");
                setReport(`Imported: ${JSON.stringify(await response.json())}`);
              } catch (err) {
                setError(err);
              }
            }}
          />
        </label>
      </div>
    </section>
  );
}
