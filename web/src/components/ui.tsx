// Small building blocks shared by every page.
import { useId, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const parts = [error.message];
    if (error.explanation) parts.push(error.explanation);
    if (error.missingFields) parts.push(`missing: ${error.missingFields.map((s) => s.join(", ")).join(" or ")}`);
    return parts.join(" — ");
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="banner error" role="alert">
      {errorText(error)}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="banner notice" role="status">
      {children}
    </div>
  );
}

/**
 * Errors of one form: the API's `field` (a JSON path like `providermap.docker-local.flavor`)
 * goes beside the field it names, or beside the closest enclosing field shown; anything else
 * is shown above the form.
 */
export class FormErrors {
  constructor(
    readonly fields: Record<string, string> = {},
    readonly general: unknown = null,
  ) {}

  static from(error: unknown, shown: string[]): FormErrors {
    // a create that conflicts is a name already taken: the API's 409s carry no field
    if (error instanceof ApiError && error.status === 409 && !error.field) {
      const name = shown.find((p) => p === "name" || p.endsWith(".name"));
      if (name) return new FormErrors({ [name]: error.message });
    }
    if (error instanceof ApiError && error.field) {
      const field = error.field;
      const match = shown
        .filter((p) => field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`))
        .sort((a, b) => b.length - a.length)[0];
      if (match) {
        const rule = error.message;
        return new FormErrors({ [match]: rule });
      }
    }
    return new FormErrors({}, error);
  }

  static local(fields: Record<string, string>): FormErrors {
    return new FormErrors(fields);
  }

  get any(): boolean {
    return Object.keys(this.fields).length > 0 || Boolean(this.general);
  }
}

/** A labelled input with its tip and the error that names it. */
export function Field({
  label,
  error,
  tip,
  required,
  path,
  children,
}: {
  label: string;
  error?: string;
  tip?: string;
  required?: boolean;
  /** The JSON path the field writes, for tests and error matching. */
  path?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const tipId = `${id}-tip`;
  const describedBy = [error ? errorId : null, tip ? tipId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " has-error" : ""}`} data-field={path}>
      <label htmlFor={id}>
        {label}
        {required ? <span className="required" aria-label="required"> *</span> : null}
      </label>
      {children(id, describedBy)}
      {tip ? (
        <div className="tip" id={tipId}>
          {tip}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={errorId} role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function TextField({
  label,
  value,
  onChange,
  error,
  tip,
  required,
  path,
  type = "text",
  placeholder,
  disabled,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  tip?: string;
  required?: boolean;
  path?: string;
  type?: string;
  placeholder?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={label} error={error} tip={tip} required={required} path={path}>
      {(id, describedBy) => (
        <input
          id={id}
          type={type}
          value={value}
          placeholder={placeholder}
          disabled={disabled}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function TextArea({
  label,
  value,
  onChange,
  error,
  tip,
  path,
  rows = 6,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  tip?: string;
  path?: string;
  rows?: number;
}) {
  return (
    <Field label={label} error={error} tip={tip} path={path}>
      {(id, describedBy) => (
        <textarea
          id={id}
          rows={rows}
          value={value}
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function Select({
  label,
  value,
  options,
  onChange,
  error,
  tip,
  path,
  empty,
}: {
  label: string;
  value: string;
  options: string[];
  onChange: (v: string) => void;
  error?: string;
  tip?: string;
  path?: string;
  /** A first option meaning "none" (the template's default, for instance). */
  empty?: string;
}) {
  return (
    <Field label={label} error={error} tip={tip} path={path}>
      {(id, describedBy) => (
        <select
          id={id}
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
        >
          {empty !== undefined ? <option value="">{empty}</option> : null}
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A set of checkboxes choosing names out of a list. */
export function CheckList({
  legend,
  options,
  chosen,
  onChange,
  error,
  path,
}: {
  legend: string;
  options: string[];
  chosen: string[];
  onChange: (v: string[]) => void;
  error?: string;
  path?: string;
}) {
  return (
    <fieldset className={`checklist${error ? " has-error" : ""}`} data-field={path}>
      <legend>{legend}</legend>
      {options.length === 0 ? <span className="muted">none defined</span> : null}
      {options.map((o) => (
        <label key={o} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(o)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, o] : chosen.filter((c) => c !== o))}
          />
          {o}
        </label>
      ))}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
    </fieldset>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.replace(/[^a-z_]/gi, "")}`}>{status.replace(/_/g, " ")}</span>;
}

export function Tabs({
  tabs,
  current,
  onChange,
  flagged = [],
}: {
  tabs: string[];
  current: string;
  onChange: (t: string) => void;
  /** Tabs holding an error. */
  flagged?: string[];
}) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button
          key={t}
          type="button"
          role="tab"
          aria-selected={t === current}
          className={`tab${t === current ? " current" : ""}${flagged.includes(t) ? " flagged" : ""}`}
          onClick={() => onChange(t)}
        >
          {t}
        </button>
      ))}
    </div>
  );
}

/** A button that runs an async action, disabled while it runs, reporting its error. */
export function ActionButton({
  children,
  onRun,
  className,
  confirm,
  onError,
}: {
  children: ReactNode;
  onRun: () => Promise<unknown>;
  className?: string;
  confirm?: string;
  onError?: (e: unknown) => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className={className}
      disabled={busy}
      onClick={async () => {
        if (confirm && !window.confirm(confirm)) return;
        setBusy(true);
        try {
          await onRun();
        } catch (e) {
          onError?.(e);
        } finally {
          setBusy(false);
        }
      }}
    >
      {children}
    </button>
  );
}

export function time(ms: number | null | undefined): string {
  if (!ms) return "—";
  return new Date(ms).toLocaleString();
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * Text that edits a list (names separated by commas) or a list of lists (one per line). The
 * text is kept as typed, so a trailing comma or newline survives until the next word.
 */
export function ListField({
  label,
  value,
  onChange,
  error,
  path,
  nested = false,
  tip,
}: {
  label: string;
  value: string[] | string[][];
  onChange: (v: string[] & string[][]) => void;
  error?: string;
  path?: string;
  /** One set per line, names separated by commas. */
  nested?: boolean;
  tip?: string;
}) {
  // the text starts from the value and then leads: the form only changes the value through it
  const [text, setText] = useState(() =>
    nested ? (value as string[][]).map((s) => s.join(", ")).join("\n") : (value as string[]).join(", "),
  );
  const parse = (t: string) => {
    const names = (line: string) =>
      line
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    return nested ? t.split("\n").map(names).filter((s) => s.length > 0) : names(t);
  };
  return (
    <Field label={label} error={error} tip={tip} path={path}>
      {(id, describedBy) =>
        nested ? (
          <textarea
            id={id}
            rows={3}
            value={text}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => {
              setText(e.target.value);
              onChange(parse(e.target.value) as string[] & string[][]);
            }}
          />
        ) : (
          <input
            id={id}
            value={text}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => {
              setText(e.target.value);
              onChange(parse(e.target.value) as string[] & string[][]);
            }}
          />
        )
      }
    </Field>
  );
}
