/** PROMPTOPS_METRICS_PUBLIC=1 (or `serve --metrics-public`): `/metrics` answers without a key. */
export const metricsPublicFrom = (env: NodeJS.ProcessEnv): boolean => {
  const raw = env['PROMPTOPS_METRICS_PUBLIC'];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new Error(`PROMPTOPS_METRICS_PUBLIC must be 1 or 0; got '${raw}'`);
};
