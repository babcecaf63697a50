// The web UI in a real browser against a real server: sign-in, the admin's forms, a user's
// cluster from preview to delete on the Docker engine, and tenant isolation.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { field, shot, signIn, tokens } from "./helpers";

test.describe.configure({ mode: "serial" });

let clusterId = "";

test("a wrong token is refused beside the token field; a right one signs in", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Token").fill("not-a-real-token-at-all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid");
  await shot(page, "sign-in");
  await page.getByLabel("Token").fill(tokens().user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("who")).toContainText("uma · acme · user");
  // a plain user sees no admin pages
  await expect(page.getByRole("link", { name: "Hardware types" })).toHaveCount(0);
});

test("an admin creates a hardware type, an image type, a service and a template through the forms", async ({ page }) => {
  await signIn(page, tokens().admin);

  // hardware type: the API's error on the name appears beside the name field
  await page.getByRole("link", { name: "Hardware types" }).click();
  await page.getByRole("link", { name: "New hardware type" }).click();
  await field(page, "name").getByRole("textbox").fill("bad name!");
  await field(page, "providermap.docker-local.flavor").getByRole("textbox").fill("cpus=1,memory=128m");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(field(page, "name").locator(".field-error")).toContainText(/name/i);
  await field(page, "name").getByRole("textbox").fill("e2e-tiny");
  await field(page, "description").getByRole("textbox").fill("One CPU, 128 MB");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: /Hardware type e2e-tiny/ })).toBeVisible();
  await expect(page.getByText("Saved.")).toBeVisible();

  // image type
  await page.getByRole("link", { name: "Image types" }).click();
  await page.getByRole("link", { name: "New image type" }).click();
  await field(page, "name").getByRole("textbox").fill("e2e-image");
  await field(page, "providermap.docker-local.image").getByRole("textbox").fill("weft-node:bookworm");
  await field(page, "providermap.docker-local.sshuser").getByRole("textbox").fill("root");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: /Image type e2e-image/ })).toBeVisible();

  // service: the shell automator's fields come from its schema
  await page.getByRole("link", { name: "Services" }).click();
  await page.getByRole("link", { name: "New service" }).click();
  await field(page, "name").getByRole("textbox").fill("e2e-hello");
  await field(page, "provisioner.actions.configure.type").getByRole("combobox").selectOption("shell");
  // the script is required by the shell type: saving without it is refused beside it
  await page.getByRole("button", { name: "Save" }).click();
  await expect(field(page, "provisioner.actions.configure.fields.script").locator(".field-error")).toContainText(
    "required",
  );
  await field(page, "provisioner.actions.configure.fields.script").getByRole("textbox").fill("echo hello > /tmp/hello");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: /Service e2e-hello/ })).toBeVisible();

  // template builder: live validation, tabs
  await page.getByRole("link", { name: "Cluster templates" }).click();
  await page.getByRole("link", { name: "New cluster template" }).click();
  await field(page, "name").getByRole("textbox").fill("e2e-hello-cluster");
  await page.getByRole("tab", { name: "Compatibility" }).click();
  await field(page, "compatibility.services").getByLabel("e2e-hello").check();
  await field(page, "compatibility.hardwaretypes").getByLabel("e2e-tiny").check();
  await field(page, "compatibility.imagetypes").getByLabel("e2e-image").check();
  await page.getByRole("tab", { name: "Defaults" }).click();
  await field(page, "defaults.provider").getByRole("combobox").selectOption("docker-local");
  await field(page, "defaults.config").getByRole("textbox").fill("{ not json");
  await expect(field(page, "defaults.config").locator(".field-error")).toContainText("not JSON");
  await field(page, "defaults.config").getByRole("textbox").fill('{"greeting": "hello"}');
  await expect(field(page, "defaults.config").locator(".field-error")).toHaveCount(0);
  await field(page, "defaults.services").getByLabel("e2e-hello").check();
  await page.getByRole("tab", { name: "Constraints" }).click();
  await field(page, "constraints.size.min").getByRole("spinbutton").fill("3");
  await field(page, "constraints.size.max").getByRole("spinbutton").fill("2");
  await expect(field(page, "constraints.size.max").locator(".field-error")).toContainText("below the minimum");
  await field(page, "constraints.size.min").getByRole("spinbutton").fill("1");
  // a list keeps what is typed, trailing comma included
  const cant = field(page, "constraints.layout.cantcoexist").getByRole("textbox");
  await cant.pressSequentially("e2e-hello,");
  await expect(cant).toHaveValue("e2e-hello,");
  await cant.fill("");
  await shot(page, "admin-template-builder");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: /Cluster template e2e-hello-cluster/ })).toBeVisible();
  await page.getByRole("link", { name: "Cluster templates" }).click();
  await expect(page.getByTestId("catalog-table")).toContainText("e2e-hello-cluster");

  // a provider's form comes from its provider type's schema (the docker plugin's `socket`)
  await page.getByRole("link", { name: "Providers" }).click();
  await page.getByRole("link", { name: "docker-local" }).click();
  await expect(field(page, "provisioner.socket").getByRole("textbox")).toHaveValue("/var/run/docker.sock");

  // the audit log has the admin's writes
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByTestId("audit")).toContainText("POST /v2/hardwaretypes");
  await expect(page.getByTestId("audit")).toContainText("POST /v2/clustertemplates");
});

test("an admin uploads, stages and syncs a plugin resource", async ({ page }) => {
  await signIn(page, tokens().admin);
  await page.getByRole("link", { name: "Plugin resources" }).click();
  await page.getByLabel("Plugin type").selectOption("shell");
  await page.getByLabel("Resource type").selectOption("scripts");
  await page.getByLabel("Resource name").fill("hello.sh");
  await page.getByLabel("File").setInputFiles({ name: "hello.sh", mimeType: "text/x-sh", buffer: Buffer.from("echo hello\n") });
  await page.getByRole("button", { name: "Upload" }).click();
  const row = page.getByRole("row", { name: /hello\.sh/ });
  await expect(row.locator(".badge")).toHaveText("inactive");
  await row.getByRole("button", { name: "stage" }).click();
  await expect(row.locator(".badge")).toHaveText("staged");
  await page.getByRole("button", { name: "Sync" }).click();
  await expect(row.locator(".badge")).toHaveText("active");
});

test("an admin adds a user and issues a token from the UI; the token signs in", async ({ page }) => {
  await signIn(page, tokens().admin);
  await page.getByRole("link", { name: "Users and tokens" }).click();
  await field(page, "name").getByRole("textbox").fill("neo");
  await page.getByRole("button", { name: "Add and issue a token" }).click();
  const issued = page.getByTestId("issued-token");
  await expect(issued).toContainText("neo");
  const token = (await issued.locator("code").textContent()) ?? "";
  expect(token.length).toBeGreaterThan(16);
  // a name already taken is refused beside the name field
  await field(page, "name").getByRole("textbox").fill("neo");
  await page.getByRole("button", { name: "Add and issue a token" }).click();
  await expect(field(page, "name").locator(".field-error")).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, token);
  await expect(page.getByTestId("who")).toContainText("neo · acme · user");
});

/** A fresh ed25519 key pair from ssh-keygen: [private key text, public key line]. */
function keyPair(): [string, string] {
  const dir = mkdtempSync(join(tmpdir(), "weft-e2e-key-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k")]);
  return [readFileSync(join(dir, "k"), "utf8"), readFileSync(join(dir, "k.pub"), "utf8").trim()];
}

test("an admin makes a machine pool; a bad host key is refused beside it and the key never comes back", async ({
  page,
}) => {
  const [login] = keyPair();
  const [, hostKey] = keyPair();
  await signIn(page, tokens().admin);
  await page.getByRole("link", { name: "Machine pools" }).click();
  const form = page.locator('[data-pool="new"]');
  await field(form, "name").getByRole("textbox").fill("lab");
  await field(form, "privateKey").getByRole("textbox").fill(login);
  await field(form, "machines[0].name").getByRole("textbox").fill("m1");
  await field(form, "machines[0].address").getByRole("textbox").fill("127.0.0.1:2222");
  await field(form, "machines[0].hostKey").getByRole("textbox").fill("ssh-ed25519 not-a-key");
  await form.getByRole("button", { name: "Create pool" }).click();
  await expect(field(form, "machines[0].hostKey").locator(".field-error")).toBeVisible();
  await field(form, "machines[0].hostKey").getByRole("textbox").fill(hostKey);
  await form.getByRole("button", { name: "Create pool" }).click();
  await expect(page.getByRole("heading", { name: /lab/ })).toBeVisible();
  await expect(page.getByText("Authorise this public key")).toContainText("ssh-ed25519 AAAA");
  await expect(page.locator("body")).not.toContainText("PRIVATE KEY");
});

test("a user previews the admin's template, then creates, restarts and deletes a redis cluster", async ({ page }) => {
  await signIn(page, tokens().user);
  await page.getByRole("link", { name: "Templates" }).click();
  await expect(page.locator('[data-template="e2e-hello-cluster"]')).toBeVisible();
  await shot(page, "templates");

  // preview the admin's new template: one group of two nodes
  await page.locator('[data-template="e2e-hello-cluster"]').getByRole("link", { name: "Create a cluster" }).click();
  await field(page, "name").getByRole("textbox").fill("hello");
  await field(page, "numMachines").getByRole("spinbutton").fill("2");
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(page.getByTestId("layout-picture").locator(".node-box")).toHaveCount(2);
  await expect(page.getByTestId("layout-picture")).toContainText("2 × e2e-tiny · e2e-image");

  // the redis template on the Docker engine
  await field(page, "clusterTemplate").getByRole("combobox").selectOption("redis-replicated");
  await field(page, "name").getByRole("textbox").fill("e2e-redis");
  await field(page, "numMachines").getByRole("spinbutton").fill("2");
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  const layout = page.getByTestId("layout-picture");
  await expect(layout.locator(".node-box")).toHaveCount(2);
  await expect(layout).toContainText("redis-primary");
  await expect(layout).toContainText("redis-replica");
  await expect(page.getByTestId("plan-picture").locator("[data-stage]")).not.toHaveCount(0);
  await expect(page.getByTestId("plan-picture")).toContainText("CREATE");
  await shot(page, "create-preview");
  await page.getByRole("button", { name: "Create this cluster" }).click();

  // live progress until active
  await expect(page).toHaveURL(/\/clusters\/(?!new\b)[^/?]+$/);
  clusterId = page.url().split("/").pop() ?? "";
  await expect(page.getByTestId("job-action")).toHaveText("CLUSTER_CREATE");
  await expect(page.getByTestId("plan-picture")).toBeVisible();
  await expect(page.locator("h1 .badge")).toHaveText("active", { timeout: 5 * 60_000 });
  await expect(page.getByTestId("nodes").locator("tbody tr")).toHaveCount(2);
  await expect(page.getByTestId("nodes")).toContainText("bind_v4");
  await expect(page.getByTestId("plan-picture").locator('[data-state="done"]').first()).toBeVisible();
  await shot(page, "cluster-active");
  await page.getByRole("link", { name: "Overview" }).click();
  await expect(page.getByTestId("live-count")).toHaveText("1");
  await shot(page, "overview");
  await page.goBack();

  // a task's log
  await page.getByText("Tasks", { exact: true }).click();
  await page.getByRole("button", { name: "log" }).first().click();
  await expect(page.getByTestId("task-log")).not.toHaveText("(no output yet)");

  // restart one service and watch the job finish
  await page.locator('[data-service="redis-replica"]').getByRole("button", { name: "restart" }).click();
  await expect(page.getByRole("status")).toContainText("restart redis-replica: started");
  await expect(page.getByTestId("job-action")).toHaveText(/RESTART/, { timeout: 30_000 });
  await expect(page.getByTestId("progress").locator(".badge").first()).toHaveText("complete", { timeout: 3 * 60_000 });
  await expect(page.locator("h1 .badge")).toHaveText("active");

  // delete
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Delete cluster" }).click();
  await expect(page.getByTestId("job-action")).toHaveText("CLUSTER_DELETE", { timeout: 30_000 });
  await expect(page.locator("h1 .badge")).toHaveText("terminated", { timeout: 3 * 60_000 });
});

test("a user of another tenant sees none of it", async ({ page }) => {
  expect(clusterId).not.toBe("");
  await signIn(page, tokens().other);
  await expect(page.getByTestId("who")).toContainText("gus · globex");
  await page.getByRole("link", { name: "Clusters", exact: true }).click();
  await expect(page.getByText("No clusters.")).toBeVisible();
  await page.getByRole("link", { name: "Templates" }).click();
  await expect(page.locator('[data-template="redis-replicated"]')).toBeVisible();
  await expect(page.locator('[data-template="e2e-hello-cluster"]')).toHaveCount(0);
  await page.goto(`/clusters/${clusterId}`);
  await expect(page.getByRole("alert")).toContainText("does not exist");
});

test("the superadmin sees tenants and workers", async ({ page }) => {
  await signIn(page, tokens().superadmin);
  await page.getByRole("link", { name: "Tenants" }).click();
  await expect(page.getByRole("cell", { name: "acme", exact: true })).toBeVisible();
  await expect(page.getByRole("cell", { name: "globex", exact: true })).toBeVisible();
  await shot(page, "superadmin-tenants");
  await page.getByRole("link", { name: "Plugins" }).click();
  await expect(page.locator('[data-plugin="docker"]')).toContainText("Docker engine");
  await shot(page, "plugins");
});
