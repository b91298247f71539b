import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { SseParser, readEventStream } from '@promptops/core/sse';
import { ApiError } from '../api/client';
import type { LabelRulesChangeEvent, OverrideChangeEvent } from '@promptops/core';
import type { LabelChangeEvent } from '../api/types';
import { useSession } from '../app/session';

/**
 * One connection to the change feed (GET /api/v1/stream) for the whole page. Label moves and new
 * versions (the `latest` label's push moves), tenants' override changes and labels' rules reach every subscribed view
 * without a reload. On a drop it reconnects with backoff and resumes after the last event id it saw, so
 * nothing is missed.
 */

export type LiveStatus = 'connecting' | 'live' | 'offline';

type Listener = (event: LabelChangeEvent) => void;
type OverrideListener = (event: OverrideChangeEvent) => void;
type LabelRulesListener = (event: LabelRulesChangeEvent) => void;

interface LiveFeed {
  readonly status: LiveStatus;
  subscribe(listener: Listener): () => void;
  subscribeOverrides(listener: OverrideListener): () => void;
  subscribeLabelRules(listener: LabelRulesListener): () => void;
}

const LiveContext = createContext<LiveFeed>({
  status: 'offline',
  subscribe: () => () => undefined,
  subscribeOverrides: () => () => undefined,
  subscribeLabelRules: () => () => undefined,
});

export const useLiveStatus = (): LiveStatus => useContext(LiveContext).status;

/** Calls `onEvent` for every label move (optionally of one prompt) while the component is mounted. */
export const useLabelEvents = (onEvent: Listener, promptName?: string): void => {
  const { subscribe } = useContext(LiveContext);
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(
    () =>
      subscribe((event) => {
        if (promptName === undefined || event.name === promptName) latest.current(event);
      }),
    [subscribe, promptName],
  );
};

/** Calls `onEvent` for every change of a tenant's override of `promptName` while the component is mounted. */
export const useOverrideEvents = (onEvent: OverrideListener, promptName: string): void => {
  const { subscribeOverrides } = useContext(LiveContext);
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(
    () =>
      subscribeOverrides((event) => {
        if (event.name === promptName) latest.current(event);
      }),
    [subscribeOverrides, promptName],
  );
};

/** Calls `onEvent` when a label of `promptName` has its targeting rules set or cleared. */
export const useLabelRulesEvents = (onEvent: LabelRulesListener, promptName: string): void => {
  const { subscribeLabelRules } = useContext(LiveContext);
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(
    () =>
      subscribeLabelRules((event) => {
        if (event.name === promptName) latest.current(event);
      }),
    [subscribeLabelRules, promptName],
  );
};

const MAX_BACKOFF_MS = 30_000;

export const LiveFeedProvider = ({ children }: { children: ReactNode }) => {
  const { api } = useSession();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [feed] = useState(() => {
    const listeners = new Set<Listener>();
    const overrideListeners = new Set<OverrideListener>();
    const labelRulesListeners = new Set<LabelRulesListener>();
    return {
      listeners,
      overrideListeners,
      labelRulesListeners,
      subscribe: (listener: Listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      subscribeOverrides: (listener: OverrideListener) => {
        overrideListeners.add(listener);
        return () => overrideListeners.delete(listener);
      },
      subscribeLabelRules: (listener: LabelRulesListener) => {
        labelRulesListeners.add(listener);
        return () => labelRulesListeners.delete(listener);
      },
    };
  });

  useEffect(() => {
    const controller = new AbortController();
    let lastEventId: string | undefined;
    let failures = 0;
    const wait = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

    const run = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          const headers: Record<string, string> = { accept: 'text/event-stream' };
          if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
          const response = await api.stream('/stream', headers, controller.signal);
          const parser = new SseParser((message) => {
            if (message.lastEventId !== '') lastEventId = message.lastEventId;
            if (message.event === 'ready') {
              failures = 0;
              setStatus('live');
            } else if (message.event === 'label') {
              const event = JSON.parse(message.data) as LabelChangeEvent;
              for (const listener of feed.listeners) listener(event);
            } else if (message.event === 'override') {
              const event = JSON.parse(message.data) as OverrideChangeEvent;
              for (const listener of feed.overrideListeners) listener(event);
            } else if (message.event === 'label_rules') {
              const event = JSON.parse(message.data) as LabelRulesChangeEvent;
              for (const listener of feed.labelRulesListeners) listener(event);
            }
          });
          if (response.body !== null) await readEventStream(response.body, parser, () => undefined);
        } catch (error) {
          if (controller.signal.aborted) return;
          if (error instanceof ApiError && error.status === 401) return setStatus('offline');
          // A cursor this server does not know (another database): start again from now.
          if (error instanceof ApiError && error.status === 400) lastEventId = undefined;
        }
        if (controller.signal.aborted) return;
        setStatus('connecting');
        failures += 1;
        // Full jitter, so many open dashboards do not reconnect in step after a restart.
        await wait(Math.random() * Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures));
      }
    };
    void run();
    return () => controller.abort();
  }, [api, feed]);

  const value = useMemo(
    () => ({
      status,
      subscribe: feed.subscribe,
      subscribeOverrides: feed.subscribeOverrides,
      subscribeLabelRules: feed.subscribeLabelRules,
    }),
    [status, feed],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
};
