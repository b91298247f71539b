import {
  PromptopsError,
  evaluateMonitor,
  incidentFigures,
  incidentTimeline,
  monitorConfig,
  renderPostmortem,
  shortSha,
  type IncidentFacts,
  type MonitorConfig,
  type MonitorEvaluation,
  type PeriodFigures,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { LabelService } from '../labels/service.js';
import { unknownPrompt } from '../prompts/errors.js';
import type { DeploymentRow, RegistryStore, RegistryTx } from '../registry/store.js';
import type { ReviewStore } from '../reviews/store.js';
import type { Transaction } from '../storage/transaction.js';
import { ensureDefaultMonitors } from './defaults.js';
import type { IncidentRow, IncidentStore, IncidentTx, MonitorRow, VersionWindow } from './store.js';

export interface IncidentStores {
  readonly registry: RegistryStore;
  readonly reviews: Pick<ReviewStore, 'listPolicies'>;
  readonly incidents: IncidentStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly incidents: IncidentTx }>;
}

export type IncidentService = ReturnType<typeof createIncidentService>;

const notFound = (id: number): PromptopsError =>
  new PromptopsError('not_found', 'incident_not_found', `no incident ${id} in this project`, {
    fix: 'list them: promptops incident list',
  });

const period = (w: VersionWindow | null): PeriodFigures | null =>
  w === null || w.calls === 0
    ? null
    : {
        traces: w.calls,
        errors: w.errors.events,
        meanScore: w.score.count > 0 ? w.score.sum / w.score.count : null,
        thumbsDownRate: w.thumbsDown.count > 0 ? w.thumbsDown.events / w.thumbsDown.count : null,
      };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The deployment that put `sha` on the label last, at or before `at` when given. */
const introducing = (moves: readonly DeploymentRow[], sha: string | null): DeploymentRow | undefined =>
  sha === null ? undefined : [...moves].reverse().find((move) => move.toSha === sha);

/** Monitors (looked at by the runner's tick) and incidents (their record, timeline and postmortem). */
export const createIncidentService = (stores: IncidentStores, clock: Clock, labels: LabelService) => {
  const { registry, incidents, transaction } = stores;

  const promptOf = async (actor: Pick<Actor, 'projectId'>, name: string) => {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    return prompt;
  };

  const openIn = async (
    tx: { registry: RegistryTx; incidents: IncidentTx },
    actor: Pick<Actor, 'projectId' | 'name'>,
    row: Omit<IncidentRow, 'id' | 'updatedAt' | 'projectId' | 'state' | 'openedAt' | 'openedBy'>,
    at: string,
  ): Promise<IncidentRow> => {
    const incident = await tx.incidents.insertIncident({
      ...row,
      projectId: actor.projectId,
      state: 'open',
      openedBy: actor.name,
      openedAt: at,
    });
    await tx.incidents.appendIncidentEvent(actor.projectId, {
      incidentId: incident.id,
      at,
      kind: 'opened',
      actor: actor.name,
      data: null,
    });
    // Webhooks and metrics read incident events from the audit log, committed with the row.
    await tx.registry.appendAudit({
      projectId: actor.projectId,
      at,
      actor: actor.name,
      action: 'incident.opened',
      target: `${row.promptName}:${row.label}`,
      data: { incident: incident.id, name: row.promptName, label: row.label, title: row.title, monitor: row.monitorId },
    });
    return incident;
  };

  const transition = async (
    actor: Actor,
    id: number,
    kind: 'acknowledged' | 'resolved',
    message?: string,
  ): Promise<IncidentRow> => {
    const at = clock.now().toISOString();
    // Read before the transaction: on SQLite the store's reads and the open transaction share one connection.
    const incident = await incidents.getIncident(actor.projectId, id);
    if (!incident) throw notFound(id);
    await transaction(async (tx) => {
      if (incident.state === 'resolved') {
        throw new PromptopsError('conflict', 'incident_resolved', `incident ${id} is already resolved`, {
          fix: `open a new incident if the problem is back: promptops incident open ${incident.promptName} --label ${incident.label} -m "…"`,
        });
      }
      if (kind === 'acknowledged' && incident.state === 'acknowledged') return;
      await tx.incidents.setIncidentState(id, kind, at);
      await tx.incidents.appendIncidentEvent(actor.projectId, {
        incidentId: id,
        at,
        kind,
        actor: actor.name,
        data: message === undefined ? null : JSON.stringify({ message }),
      });
      await tx.registry.appendAudit({
        projectId: actor.projectId,
        at,
        actor: actor.name,
        action: kind === 'resolved' ? 'incident.resolved' : 'incident.acknowledged',
        target: `${incident.promptName}:${incident.label}`,
        data: { incident: id, name: incident.promptName, label: incident.label, ...(message ? { message } : {}) },
      });
    });
    return (await incidents.getIncident(actor.projectId, id))!;
  };

  /** The facts of an incident, from its events, the label's deployments and the traces. */
  const factsOf = async (incident: IncidentRow): Promise<{ facts: IncidentFacts; conditions: string[] }> => {
    const now = clock.now();
    const moves = await registry.listDeployments(incident.promptId, { label: incident.label });
    const events = await incidents.listIncidentEvents(incident.projectId, incident.id);
    const event = (kind: string) => events.find((e) => e.kind === kind);
    const intro =
      moves.find((move) => move.id === incident.introducedDeploymentId) ?? introducing(moves, incident.badSha);
    const introAt = intro === undefined ? Date.parse(incident.openedAt) : Date.parse(intro.createdAt);
    const mitigation =
      intro === undefined ? undefined : moves.find((move) => move.id > intro.id && move.toSha !== intro.toSha);
    const mitigatedAt = mitigation === undefined ? now.getTime() : Date.parse(mitigation.createdAt);
    const window = (sha: string | null, fromMs: number, toMs: number) =>
      sha === null || toMs <= fromMs
        ? Promise.resolve(null)
        : incidents.versionWindow(incident.projectId, {
            promptName: incident.promptName,
            sha,
            fromMs,
            toMs,
            label: incident.label,
          });
    const detection =
      incident.detection === null
        ? null
        : (JSON.parse(incident.detection) as MonitorEvaluation & { config?: MonitorConfig });
    const lookback = detection?.config?.windowMs ?? 60 * 60_000;
    const [before, during, after, labelTraces] = await Promise.all([
      window(intro?.fromSha ?? null, introAt - lookback, introAt),
      window(incident.badSha, introAt, mitigatedAt),
      mitigation === undefined ? Promise.resolve(null) : window(mitigation.toSha, mitigatedAt, now.getTime() + 1),
      incidents.labelCalls(incident.projectId, {
        promptName: incident.promptName,
        label: incident.label,
        fromMs: introAt,
        toMs: mitigatedAt,
      }),
    ]);
    const resolved = event('resolved');
    const acknowledged = event('acknowledged');
    const facts: IncidentFacts = {
      name: incident.promptName,
      label: incident.label,
      openedAt: incident.openedAt,
      openedBy: incident.openedBy,
      introduced:
        intro === undefined
          ? null
          : {
              at: intro.createdAt,
              actor: intro.actor,
              kind: intro.kind,
              version: intro.toVersion,
              sha: intro.toSha,
              fromVersion: intro.fromVersion,
              fromSha: intro.fromSha,
            },
      firstBadTraceAt: iso(during?.firstAtMs ?? null),
      detected: detection === null ? null : { at: detection.at, by: incident.openedBy, reason: detection.reason },
      notifiedAt: incident.openedAt,
      acknowledged: acknowledged === undefined ? null : { at: acknowledged.at, by: acknowledged.actor },
      mitigated:
        mitigation === undefined
          ? null
          : {
              at: mitigation.createdAt,
              actor: mitigation.actor,
              kind: mitigation.kind,
              version: mitigation.toVersion,
              deploymentId: mitigation.id,
            },
      firstGoodTraceAt: iso(after?.firstAtMs ?? null),
      resolved:
        resolved === undefined
          ? null
          : {
              at: resolved.at,
              by: resolved.actor,
              message:
                resolved.data === null ? null : ((JSON.parse(resolved.data) as { message?: string }).message ?? null),
            },
      before: period(before),
      during: period(during),
      after: period(after),
      labelTracesDuring: labelTraces,
    };
    const conditions = (detection?.config?.conditions ?? []).map(
      (c) => `${c.metric} ${c.threshold >= 0 ? '+' : ''}${c.threshold}`,
    );
    return { facts, conditions };
  };

  const show = async (actor: Pick<Actor, 'projectId'>, id: number) => {
    const incident = await incidents.getIncident(actor.projectId, id);
    if (!incident) throw notFound(id);
    const { facts, conditions } = await factsOf(incident);
    return {
      incident: {
        ...incident,
        detection: incident.detection === null ? null : (JSON.parse(incident.detection) as unknown),
      },
      facts,
      conditions,
      timeline: incidentTimeline(facts),
      figures: incidentFigures(facts),
    };
  };

  /** One monitor, one look: evaluate, and on fire open the incident and act. Returns what it did. */
  const look = async (monitor: MonitorRow): Promise<'quiet' | 'fired' | 'held'> => {
    const now = clock.now();
    const config = monitorConfig(JSON.parse(monitor.config));
    const label = await registry.getLabel(monitor.promptId, monitor.label);
    if (!label) return 'quiet';
    const moves = await registry.listDeployments(monitor.promptId, { label: monitor.label });
    const last = moves.at(-1);
    // Never loops: after an automatic rollback the label stays put until a person moves it.
    if (last?.kind === 'auto-rollback') {
      await transaction(({ incidents: tx }) =>
        tx.recordLook(monitor.id, {
          at: now.toISOString(),
          reason: 'held: the label was rolled back automatically; a person moves it next',
          fired: false,
        }),
      );
      return 'held';
    }
    const intro = introducing(moves, label.sha);
    const introAt = intro === undefined ? 0 : Date.parse(intro.createdAt);
    const baselineSha = config.baseline.kind === 'fixed' ? config.baseline.sha : (intro?.fromSha ?? null);
    if (baselineSha === null || baselineSha === label.sha) return 'quiet';
    const from = Math.max(introAt, now.getTime() - config.windowMs);
    const query = { promptName: monitor.promptName, label: monitor.label };
    const [baseline, current] = await Promise.all([
      incidents.versionWindow(monitor.projectId, {
        ...query,
        sha: baselineSha,
        fromMs: config.baseline.kind === 'fixed' ? now.getTime() - config.windowMs : introAt - config.windowMs,
        toMs: config.baseline.kind === 'fixed' ? now.getTime() + 1 : introAt,
      }),
      incidents.versionWindow(monitor.projectId, { ...query, sha: label.sha, fromMs: from, toMs: now.getTime() + 1 }),
    ]);
    const evaluation = evaluateMonitor(
      config,
      {
        error_rate: { baseline: baseline.errors, candidate: current.errors },
        latency: { baseline: baseline.latency, candidate: current.latency },
        score: { baseline: baseline.score, candidate: current.score },
        thumbs_down_rate: { baseline: baseline.thumbsDown, candidate: current.thumbsDown },
      },
      now,
      monitor.lastFiredAt,
    );
    const fired = evaluation.status === 'fire';
    const system = { projectId: monitor.projectId, name: `monitor:${monitor.id}` };
    const active = fired
      ? await incidents.activeIncident(monitor.projectId, monitor.promptId, monitor.label)
      : undefined;
    await transaction(async (tx) => {
      await tx.incidents.recordLook(monitor.id, { at: evaluation.at, reason: evaluation.reason, fired });
      if (!fired || active !== undefined) return;
      await openIn(
        tx,
        system,
        {
          promptId: monitor.promptId,
          promptName: monitor.promptName,
          label: monitor.label,
          title: `${monitor.promptName}:${monitor.label} v${label.version} worse than its baseline`,
          monitorId: monitor.id,
          badSha: label.sha,
          introducedDeploymentId: intro?.id ?? null,
          detection: JSON.stringify({ ...evaluation, config }),
        },
        evaluation.at,
      );
    });
    if (fired && config.action === 'rollback') {
      await labels.rollback(
        { ...system, projectName: '', role: 'admin', keyId: `monitor:${monitor.id}`, user: null, stamp: 0 },
        monitor.promptName,
        monitor.label,
        { kind: 'auto-rollback', reason: `monitor ${monitor.id} fired: ${evaluation.reason}`, to: baselineSha },
      );
    }
    return fired ? 'fired' : 'quiet';
  };

  return {
    async listMonitors(actor: Actor, name: string): Promise<MonitorRow[]> {
      const prompt = await promptOf(actor, name);
      return incidents.listMonitors(actor.projectId, prompt.id);
    },
    async addMonitor(actor: Actor, name: string, input: { label: string; config?: unknown }): Promise<MonitorRow> {
      const prompt = await promptOf(actor, name);
      const config = monitorConfig(input.config);
      const at = clock.now().toISOString();
      return transaction(async (tx) => {
        const row = await tx.incidents.insertMonitor({
          projectId: actor.projectId,
          promptId: prompt.id,
          promptName: name,
          label: input.label,
          config: JSON.stringify(config),
          createdBy: actor.name,
          createdAt: at,
        });
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at,
          actor: actor.name,
          action: 'monitor.created',
          target: `${name}:${input.label}`,
          data: { monitor: row.id, name, label: input.label, action: config.action },
        });
        return row;
      });
    },
    async removeMonitor(actor: Actor, name: string, id: number): Promise<void> {
      await promptOf(actor, name);
      const at = clock.now().toISOString();
      await transaction(async (tx) => {
        if (!(await tx.incidents.deleteMonitor(actor.projectId, id))) {
          throw new PromptopsError('not_found', 'monitor_not_found', `'${name}' has no monitor ${id}`, {
            fix: `list them: promptops monitor list ${name}`,
          });
        }
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at,
          actor: actor.name,
          action: 'monitor.deleted',
          target: name,
          data: { monitor: id, name },
        });
      });
    },
    async open(actor: Actor, input: { name: string; label: string; message: string }): Promise<IncidentRow> {
      const prompt = await promptOf(actor, input.name);
      const label = await registry.getLabel(prompt.id, input.label);
      const moves = label === undefined ? [] : await registry.listDeployments(prompt.id, { label: input.label });
      const at = clock.now().toISOString();
      return transaction((tx) =>
        openIn(
          tx,
          actor,
          {
            promptId: prompt.id,
            promptName: input.name,
            label: input.label,
            title: input.message,
            monitorId: null,
            badSha: label?.sha ?? null,
            introducedDeploymentId: introducing(moves, label?.sha ?? null)?.id ?? null,
            detection: null,
          },
          at,
        ),
      );
    },
    list: (actor: Actor, state?: IncidentRow['state']) =>
      incidents.listIncidents(actor.projectId, state === undefined ? {} : { state }),
    show,
    acknowledge: (actor: Actor, id: number) => transition(actor, id, 'acknowledged'),
    resolve: (actor: Actor, id: number, message?: string) => transition(actor, id, 'resolved', message),
    async postmortem(actor: Actor, id: number): Promise<string> {
      const shown = await show(actor, id);
      return renderPostmortem({
        id,
        title: shown.incident.title,
        state: shown.incident.state,
        facts: shown.facts,
        timeline: shown.timeline,
        figures: shown.figures,
        conditions: shown.conditions,
        diff:
          shown.facts.introduced === null
            ? null
            : `${shown.facts.introduced.fromSha === null ? '' : shortSha(shown.facts.introduced.fromSha)} → ${shortSha(shown.facts.introduced.sha)}: promptops diff ${shown.facts.name} v${shown.facts.introduced.fromVersion ?? '?'} v${shown.facts.introduced.version}`,
      });
    },
    /** Every monitor, once; one monitor's failure does not stop the others. */
    async tick(log?: { error(details: object, message: string): void }): Promise<{ looked: number; fired: number }> {
      let fired = 0;
      try {
        await ensureDefaultMonitors(stores, clock);
      } catch (error) {
        log?.error({ err: error }, 'monitors: creating the default monitors failed');
      }
      const monitors = await incidents.allMonitors();
      for (const monitor of monitors) {
        try {
          if ((await look(monitor)) === 'fired') fired += 1;
        } catch (error) {
          log?.error({ err: error, monitorId: monitor.id }, 'monitors: looking failed');
        }
      }
      return { looked: monitors.length, fired };
    },
  };
};
