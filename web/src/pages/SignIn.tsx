import { useState } from "react";
import { useSession } from "../session";
import { TextField } from "../components/ui";
import { ApiError } from "../api/client";

export function SignIn() {
  const { signIn } = useSession();
  const [token, setTokenValue] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <div className="signin">
      <form
        className="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await signIn(token.trim());
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401
                ? "This token is not valid: ask an admin of your tenant for a new one."
                : String(err instanceof Error ? err.message : err),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Weft</h1>
        <p className="muted">Sign in with your API token. An admin of your tenant issues it.</p>
        <TextField label="Token" type="password" value={token} onChange={setTokenValue} error={error} required />
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </div>
  );
}
