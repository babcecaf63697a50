// The shell: sign-in gate, navigation by role, and the routes of every view.
import { NavLink, Navigate, Route, Routes } from "react-router";
import { isAdmin, useSession, type Me } from "./session";
import { SignIn } from "./pages/SignIn";
import { Overview } from "./pages/user/Overview";
import { Templates } from "./pages/user/Templates";
import { CreateCluster } from "./pages/user/CreateCluster";
import { Clusters } from "./pages/user/Clusters";
import { ClusterDetail } from "./pages/user/ClusterDetail";
import { CatalogList, CatalogEdit, CATALOG_KINDS } from "./pages/admin/Catalog";
import { ImportExport } from "./pages/admin/ImportExport";
import { Plugins } from "./pages/admin/Plugins";
import { Resources } from "./pages/admin/Resources";
import { Users } from "./pages/admin/Users";
import { Pools } from "./pages/admin/Pools";
import { Audit } from "./pages/admin/Audit";
import { Tenants } from "./pages/super/Tenants";
import { Workers } from "./pages/super/Workers";

function Nav({ me }: { me: Me }) {
  const link = (to: string, label: string) => (
    <li>
      <NavLink to={to} end={to === "/" || to === "/clusters"}>
        {label}
      </NavLink>
    </li>
  );
  return (
    <nav className="sidebar" aria-label="Main">
      <ul>
        <li className="nav-heading">Clusters</li>
        {link("/", "Overview")}
        {link("/templates", "Templates")}
        {link("/clusters", "Clusters")}
        {link("/clusters/new", "Create a cluster")}
      </ul>
      {isAdmin(me) ? (
        <ul>
          <li className="nav-heading">Catalog</li>
          {CATALOG_KINDS.map((k) => link(`/admin/${k.kind}`, k.plural))}
          {link("/admin/transfer", "Import / export")}
          <li className="nav-heading">Administration</li>
          {link("/admin/plugins", "Plugins")}
          {link("/admin/resources", "Plugin resources")}
          {link("/admin/pools", "Machine pools")}
          {link("/admin/users", "Users and tokens")}
          {link("/admin/audit", "Audit log")}
        </ul>
      ) : null}
      {me.superadmin ? (
        <ul>
          <li className="nav-heading">Superadmin</li>
          {link("/super/tenants", "Tenants")}
          {link("/super/workers", "Workers")}
        </ul>
      ) : null}
    </nav>
  );
}

function AdminOnly({ me, children }: { me: Me; children: React.ReactNode }) {
  return isAdmin(me) ? <>{children}</> : <Navigate to="/" replace />;
}

export function App() {
  const { me, loading, signOut } = useSession();
  if (loading) return <div className="loading">Loading…</div>;
  if (!me) return <SignIn />;
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/">
          Weft
        </a>
        <span className="who" data-testid="who">
          {me.user} · {me.tenant} · {me.superadmin ? "superadmin" : me.role}
        </span>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Nav me={me} />
      <main className="content">
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/templates" element={<Templates />} />
          <Route path="/clusters" element={<Clusters />} />
          <Route path="/clusters/new" element={<CreateCluster />} />
          <Route path="/clusters/:id" element={<ClusterDetail />} />
          <Route path="/admin/transfer" element={<AdminOnly me={me}><ImportExport /></AdminOnly>} />
          <Route path="/admin/plugins" element={<AdminOnly me={me}><Plugins /></AdminOnly>} />
          <Route path="/admin/resources" element={<AdminOnly me={me}><Resources /></AdminOnly>} />
          <Route path="/admin/pools" element={<AdminOnly me={me}><Pools /></AdminOnly>} />
          <Route path="/admin/users" element={<AdminOnly me={me}><Users /></AdminOnly>} />
          <Route path="/admin/audit" element={<AdminOnly me={me}><Audit /></AdminOnly>} />
          <Route path="/admin/:kind" element={<AdminOnly me={me}><CatalogList /></AdminOnly>} />
          <Route path="/admin/:kind/new" element={<AdminOnly me={me}><CatalogEdit /></AdminOnly>} />
          <Route path="/admin/:kind/:name" element={<AdminOnly me={me}><CatalogEdit /></AdminOnly>} />
          <Route path="/super/tenants" element={me.superadmin ? <Tenants /> : <Navigate to="/" replace />} />
          <Route path="/super/workers" element={me.superadmin ? <Workers /> : <Navigate to="/" replace />} />
          <Route path="*" element={<p>No such page.</p>} />
        </Routes>
      </main>
    </div>
  );
}
