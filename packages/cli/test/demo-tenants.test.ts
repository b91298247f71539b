import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** The demo's tenants through the CLI: `show …@production --tenant acme` marks what acme's override supplies. */

describe("the demo's tenant overrides in the CLI", () => {
  const demo = demoServer('demo-tenants');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it("shows acme's formal and globex's German effective greeter, and the shared one to other tenants", async () => {
    const acme = await cli(['show', 'customer_support_greeter@production', '--tenant', 'acme']);
    expect(acme.code, acme.stderr).toBe(0);
    expect(acme.stdout).toContain('tenant acme: override v1');
    expect(acme.stdout).toMatch(/^T variables\.user_name\.default: "valued customer"$/m);
    expect(acme.stdout).toMatch(/^T .*temperature.*0\.1/m);
    expect(acme.stdout).not.toContain('Kundin');
    const globex = await cli(['show', 'customer_support_greeter@production', '--tenant', 'globex']);
    expect(globex.code, globex.stderr).toBe(0);
    expect(globex.stdout).toMatch(/^T variables\.user_name\.default: "liebe Kundin, lieber Kunde"$/m);
    expect(globex.stdout).not.toContain('valued customer');
    const other = await cli(['show', 'customer_support_greeter@production', '--tenant', 'initech']);
    expect(other.stdout).toContain('tenant initech has no override: the shared prompt');
  });
});
