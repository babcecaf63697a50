// Who is signed in: the token (kept for this browser tab) and what `/v2/me` says about it.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, getToken, ok, setToken, type Schemas } from "./api/client";

export type Me = Schemas["Whoami"];

interface Session {
  me: Me | null;
  loading: boolean;
  signIn: (token: string) => Promise<void>;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(Boolean(getToken()));

  useEffect(() => {
    if (!getToken()) return;
    ok(api.GET("/v2/me"))
      .then(setMe)
      .catch(() => setToken(null))
      .finally(() => setLoading(false));
  }, []);

  const signIn = useCallback(async (token: string) => {
    setToken(token);
    try {
      setMe(await ok(api.GET("/v2/me")));
    } catch (e) {
      setToken(null);
      throw e;
    }
  }, []);

  const signOut = useCallback(() => {
    setToken(null);
    setMe(null);
  }, []);

  return (
    <SessionContext.Provider value={{ me, loading, signIn, signOut }}>{children}</SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** The signed-in caller; only used below the sign-in gate. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error("not signed in");
  return me;
}

export const isAdmin = (me: Me) => me.role === "admin";
