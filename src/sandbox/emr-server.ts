// sync-agent's own EMR: the AWS JSON 1.1 protocol of Elastic MapReduce on plain node:http, with
// clusters that move through their states on a timeline. Integration tests and the demo point a real
// EMRClient at it.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  EmrApiError,
  clusterDescription,
  clusterSummary,
  createAddressPool,
  createClusterRecord,
  instanceFleetShape,
  instanceGroupShape,
  instanceShape,
  stepRecord,
  stepShape,
} from './emr-cluster.js';
import type { ClusterRecord, ClusterState, NodeState, Reason, StepRecord } from './emr-cluster.js';

export type { ClusterRecord, ClusterState, StepRecord } from './emr-cluster.js';
export { stepLogPrefix } from '../domain/run-steps.js';
import { stepLogPrefix } from '../domain/run-steps.js';
export { eventBridgeClusterEvent, eventBridgeStepEvent } from './emr-events.js';

/** How long a cluster stays in each phase. `Infinity` holds it there until `advance()` or a terminate. */
export type EmrTimeline = {
  startingMs: number;
  bootstrappingMs: number;
  /** Per step (one period when the cluster has no steps). */
  runningMs: number;
  terminatingMs: number;
};

/** The default phase lengths: quick enough for a demo, slow enough to observe each state. */
export const DEFAULT_TIMELINE: EmrTimeline = { startingMs: 300, bootstrappingMs: 300, runningMs: 1000, terminatingMs: 200 };

/**
 * A fault for the next matching requests: `throttle` answers 400 ThrottlingException, `5xx` 500
 * InternalServerError (or `status`), `delay` holds the request `delayMs` then serves it, `reset`
 * drops the connection, `error` answers `status`/`type`/`message`.
 */
export type EmrFault = {
  /** Operation name, e.g. 'DescribeCluster'; every operation when absent. */
  op?: string;
  kind: 'throttle' | '5xx' | 'delay' | 'reset' | 'error';
  times: number;
  delayMs?: number;
  status?: number;
  type?: string;
  message?: string;
  /**
   * For `5xx`/`reset`/`error`: carry out the request first, then fail the answer (a call that
   * took effect although the caller saw an error, e.g. a RunJobFlow whose response was lost).
   */
  afterHandling?: boolean;
};

export type EmrServerOptions = {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  region?: string;
  account?: string;
  timeline?: Partial<EmrTimeline>;
  /** Items per page of every List operation (EMR uses 50). */
  pageSize?: number;
  /** Source of "now" in epoch ms for timestamps (default Date.now); phases still run on real timers. */
  clock?: { now(): number };
  /** Access key ids accepted; any other signed request is refused with UnrecognizedClientException. */
  accessKeyIds?: string[];
  /** Called after every cluster state change (including the initial STARTING) with a snapshot. */
  onStateChange?: (cluster: ClusterRecord) => void;
  /** Called after every step state change with snapshots of the cluster and the step. */
  onStepChange?: (cluster: ClusterRecord, step: StepRecord) => void;
  /**
   * The cluster's "work": called once when its first step starts (or when it is RUNNING without
   * steps); the last step completes only after it resolves. When it rejects, the running step
   * FAILs and the cluster ends TERMINATED_WITH_ERRORS (STEP_FAILURE). `signal` aborts on terminate.
   */
  onStepsRun?: (cluster: ClusterRecord, signal: AbortSignal) => Promise<void>;
  /**
   * When set, a request signed (X-Amz-Date) further than this from `clock` is refused as AWS does
   * (InvalidSignatureException "Signature expired"), and answers carry a Date header from `clock`,
   * from which the SDK corrects its clock offset (a host whose clock is off).
   */
  maxClockSkewMs?: number;
};

/** A running simulated EMR. Every cluster returned is a snapshot; mutate through the API only. */
export type EmrServer = {
  /** `http://host:port` for the EMRClient's `endpoint`. */
  url: string;
  port: number;
  region: string;
  account: string;
  /** Stops timers and the HTTP server; safe to call twice. */
  close(): Promise<void>;
  /** Every cluster, oldest first. */
  clusters(): ClusterRecord[];
  cluster(id: string): ClusterRecord | undefined;
  /** Adds a fault for the next `times` matching requests. */
  inject(fault: EmrFault): void;
  /** Drops every fault not yet used. */
  clearFaults(): void;
  /** Requests served, in order, with the status answered. */
  calls(): { op: string; status: number; at: number }[];
  /** Ends the current phase of one cluster (or every cluster) now; returns how many moved. */
  advance(clusterId?: string): number;
  /** Resolves with the cluster once it is in one of `states`; rejects after `timeoutMs`. */
  waitForState(clusterId: string, states: ClusterState | ClusterState[], timeoutMs?: number): Promise<ClusterRecord>;
};

/** Why a phase wait ended early. */
class Interrupt {
  constructor(
    readonly kind: 'terminate' | 'failed' | 'shutdown',
    readonly error?: unknown,
  ) {}
}

type Runtime = {
  interrupt?: Interrupt;
  waiter?: { wake(): void; fail(i: Interrupt): void } | undefined;
  abort: AbortController;
  awaitingHook: boolean;
  /** Settles when the lifecycle has ended (final state or server shutdown). */
  done: Promise<void>;
};

const MAX_BODY = 10 * 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Starts the simulated EMR on loopback and resolves once it listens. */
export async function createEmrServer(opts: EmrServerOptions = {}): Promise<EmrServer> {
  const timeline: EmrTimeline = { ...DEFAULT_TIMELINE, ...opts.timeline };
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '123456789012';
  const pageSize = Math.max(1, opts.pageSize ?? 50);
  const now = () => (opts.clock ? opts.clock.now() : Date.now());
  const pool = createAddressPool();
  const records = new Map<string, ClusterRecord>();
  const runtimes = new Map<string, Runtime>();
  const faults: EmrFault[] = [];
  const callLog: { op: string; status: number; at: number }[] = [];
  const stateListeners = new Set<() => void>();
  const serverAbort = new AbortController();
  let closed: Promise<void> | undefined;

  const snapshot = (c: ClusterRecord) => structuredClone(c);

  // Callbacks belong to the test or demo; a throwing callback must not stall the cluster.
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch {
      /* ignored on purpose */
    }
  };

  const transition = (c: ClusterRecord, state: ClusterState, reason: Reason) => {
    c.state = state;
    c.reason = reason;
    if (opts.onStateChange) safely(() => opts.onStateChange!(snapshot(c)));
    for (const l of [...stateListeners]) l();
  };

  const stepChange = (c: ClusterRecord, step: StepRecord) => {
    if (opts.onStepChange) safely(() => opts.onStepChange!(snapshot(c), structuredClone(step)));
  };

  const setNodes = (c: ClusterRecord, state: NodeState, at: number) => {
    const reason: Reason = state === 'TERMINATED' ? { Code: 'CLUSTER_TERMINATED', Message: 'Cluster was terminated.' } : {};
    for (const n of [...c.instanceGroups, ...c.instanceFleets, ...c.instances]) {
      if (n.state === 'TERMINATED') continue;
      n.state = state;
      n.reason = reason;
      if (state === 'RUNNING') n.readyAt = at;
      if (state === 'TERMINATED') n.endedAt = at;
    }
  };

  const wait = (rt: Runtime, ms: number, interruptible = true): Promise<void> =>
    new Promise((resolve, reject) => {
      const blocks = (i: Interrupt) => interruptible || i.kind === 'shutdown';
      if (rt.interrupt && blocks(rt.interrupt)) return reject(rt.interrupt);
      let timer: NodeJS.Timeout | undefined;
      const finish = (i?: Interrupt) => {
        if (timer) clearTimeout(timer);
        rt.waiter = undefined;
        if (i) reject(i);
        else resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(() => finish(), Math.max(0, ms));
      rt.waiter = { wake: () => finish(), fail: (i) => (blocks(i) ? finish(i) : undefined) };
    });

  const interrupt = (rt: Runtime, i: Interrupt) => {
    if (rt.interrupt?.kind === 'shutdown') return;
    if (!rt.interrupt || i.kind === 'shutdown') rt.interrupt = i;
    if (i.kind !== 'failed') rt.abort.abort();
    rt.waiter?.fail(rt.interrupt);
  };

  /** Runs the steps; resolves with the failure reason when the work failed, rejects on terminate. */
  const runSteps = async (c: ClusterRecord, rt: Runtime): Promise<Reason | undefined> => {
    let hook: 'idle' | 'running' | 'done' = opts.onStepsRun ? 'idle' : 'done';
    const startHook = () => {
      if (hook !== 'idle') return;
      hook = 'running';
      Promise.resolve()
        .then(() => opts.onStepsRun!(snapshot(c), rt.abort.signal))
        .then(
          () => {
            hook = 'done';
            if (rt.awaitingHook) rt.waiter?.wake();
          },
          (error: unknown) => {
            hook = 'done';
            interrupt(rt, new Interrupt('failed', error));
          },
        );
    };
    const finishWork = async (isLast: boolean) => {
      await wait(rt, timeline.runningMs);
      if (!isLast) return;
      rt.awaitingHook = true;
      try {
        while (hook === 'running') await wait(rt, Infinity);
      } finally {
        rt.awaitingHook = false;
      }
    };
    const pending = c.steps.filter((s) => s.state === 'PENDING');
    if (pending.length === 0) {
      startHook();
      try {
        await finishWork(true);
      } catch (e) {
        if (e instanceof Interrupt && e.kind === 'failed') return { Code: 'STEP_FAILURE', Message: `Shut down as step failed: ${errorMessage(e.error)}` };
        throw e;
      }
      return undefined;
    }
    for (const [index, step] of pending.entries()) {
      // Cancelled while it waited (CancelSteps).
      if (step.state !== 'PENDING') continue;
      step.state = 'RUNNING';
      step.startedAt = now();
      stepChange(c, step);
      startHook();
      try {
        await finishWork(index === pending.length - 1);
      } catch (e) {
        if (e instanceof Interrupt && e.kind === 'failed') {
          const message = errorMessage(e.error);
          step.state = 'FAILED';
          step.endedAt = now();
          step.failureDetails = stepFailureDetails(c, step, e.error, message);
          stepChange(c, step);
          if (c.keepAlive && step.actionOnFailure === 'CONTINUE') {
            // The cluster carries on: the steps after it run (in a new batch, with fresh work).
            delete rt.interrupt;
            return undefined;
          }
          cancelSteps(c, 'Cancelled after an earlier step failed');
          return { Code: 'STEP_FAILURE', Message: `Shut down as step failed: ${message}` };
        }
        throw e;
      }
      step.state = (step.state as StepRecord['state']) === 'CANCEL_PENDING' ? 'CANCELLED' : 'COMPLETED';
      step.endedAt = now();
      stepChange(c, step);
    }
    return undefined;
  };

  const cancelSteps = (c: ClusterRecord, message: string) => {
    for (const s of c.steps) {
      if (s.state !== 'PENDING' && s.state !== 'RUNNING' && s.state !== 'CANCEL_PENDING') continue;
      s.state = 'CANCELLED';
      s.reason = { Message: message };
      s.endedAt = now();
      stepChange(c, s);
    }
  };

  const lifecycle = async (c: ClusterRecord, rt: Runtime) => {
    let final: ClusterState = 'TERMINATED';
    let reason: Reason;
    try {
      await wait(rt, timeline.startingMs);
      setNodes(c, 'BOOTSTRAPPING', now());
      transition(c, 'BOOTSTRAPPING', { Message: 'Running bootstrap actions' });
      await wait(rt, timeline.bootstrappingMs);
      const ready = now();
      c.readyAt = ready;
      setNodes(c, 'RUNNING', ready);
      transition(c, 'RUNNING', { Message: 'Running step' });
      // A long-lived cluster started without steps goes straight to WAITING (no work to run).
      const failure = c.keepAlive && c.steps.length === 0 ? undefined : await runSteps(c, rt);
      if (failure) {
        final = 'TERMINATED_WITH_ERRORS';
        reason = failure;
      } else if (c.keepAlive) {
        // A long-lived cluster waits for steps (AddJobFlowSteps wakes it), runs them, and waits again.
        let stepFailure: Reason | undefined;
        while (!stepFailure) {
          transition(c, 'WAITING', { Message: 'Cluster ready after last step completed.' });
          while (!c.steps.some((s) => s.state === 'PENDING')) await wait(rt, Infinity);
          transition(c, 'RUNNING', { Message: 'Running step' });
          do stepFailure = await runSteps(c, rt);
          while (!stepFailure && c.steps.some((s) => s.state === 'PENDING'));
        }
        final = 'TERMINATED_WITH_ERRORS';
        reason = stepFailure;
      } else {
        reason = { Code: 'ALL_STEPS_COMPLETED', Message: 'Steps completed' };
      }
    } catch (e) {
      if (e instanceof Interrupt && e.kind === 'shutdown') return;
      if (e instanceof Interrupt && e.kind === 'terminate') {
        reason = { Code: 'USER_REQUEST', Message: 'Terminated by user request' };
        cancelSteps(c, 'Cancelled because the cluster was terminated');
      } else {
        final = 'TERMINATED_WITH_ERRORS';
        reason = { Code: 'INTERNAL_ERROR', Message: `Internal error: ${errorMessage(e instanceof Interrupt ? e.error : e)}` };
        cancelSteps(c, 'Cancelled because the cluster failed');
      }
    }
    transition(c, 'TERMINATING', reason);
    try {
      await wait(rt, timeline.terminatingMs, false);
    } catch {
      return; // server shut down
    }
    const end = now();
    c.endedAt = end;
    setNodes(c, 'TERMINATED', end);
    transition(c, final, reason);
  };

  const getCluster = (id: unknown): ClusterRecord => {
    if (typeof id !== 'string') throw new EmrApiError('ValidationException', "1 validation error detected: Value null at 'clusterId' failed to satisfy constraint: Member must not be null");
    const c = records.get(id);
    if (!c) throw new EmrApiError('InvalidRequestException', `Cluster id '${id}' is not valid.`);
    return c;
  };

  const page = <T>(op: string, items: T[], marker: unknown): { items: T[]; marker?: string } => {
    let offset = 0;
    if (marker !== undefined && marker !== null) {
      try {
        const m = JSON.parse(Buffer.from(String(marker), 'base64url').toString('utf8')) as { op?: unknown; offset?: unknown };
        if (m.op !== op || typeof m.offset !== 'number' || !Number.isInteger(m.offset) || m.offset < 0) throw new Error('bad marker');
        offset = m.offset;
      } catch {
        throw new EmrApiError('InvalidRequestException', 'Invalid Marker.');
      }
    }
    const slice = items.slice(offset, offset + pageSize);
    const next = offset + pageSize;
    return next < items.length ? { items: slice, marker: Buffer.from(JSON.stringify({ op, offset: next })).toString('base64url') } : { items: slice };
  };

  const stringSet = (v: unknown): Set<string> | undefined => (Array.isArray(v) && v.length > 0 ? new Set(v.filter((x): x is string => typeof x === 'string')) : undefined);

  const ops: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    RunJobFlow(body) {
      const c = createClusterRecord(body, { region, account, now: now(), pool });
      records.set(c.id, c);
      const rt: Runtime = { abort: new AbortController(), awaitingHook: false, done: Promise.resolve() };
      runtimes.set(c.id, rt);
      transition(c, 'STARTING', {});
      rt.done = lifecycle(c, rt);
      return { JobFlowId: c.id, ClusterArn: c.arn };
    },
    DescribeCluster(body) {
      return { Cluster: clusterDescription(getCluster(body.ClusterId), now()) };
    },
    ListClusters(body) {
      const states = stringSet(body.ClusterStates);
      const after = typeof body.CreatedAfter === 'number' ? body.CreatedAfter * 1000 : undefined;
      const before = typeof body.CreatedBefore === 'number' ? body.CreatedBefore * 1000 : undefined;
      const all = [...records.values()]
        .map((c, i) => ({ c, i }))
        .filter(({ c }) => (!states || states.has(c.state)) && (after === undefined || c.createdAt >= after) && (before === undefined || c.createdAt <= before))
        .sort((a, b) => b.c.createdAt - a.c.createdAt || b.i - a.i)
        .map(({ c }) => c);
      const p = page('ListClusters', all, body.Marker);
      const t = now();
      return { Clusters: p.items.map((c) => clusterSummary(c, t)), Marker: p.marker };
    },
    ListInstanceGroups(body) {
      const c = getCluster(body.ClusterId);
      if (c.collectionType !== 'INSTANCE_GROUP') throw new EmrApiError('InvalidRequestException', `Instance groups are not supported for cluster ${c.id}, which uses instance fleets.`);
      const p = page('ListInstanceGroups', c.instanceGroups, body.Marker);
      return { InstanceGroups: p.items.map((g) => instanceGroupShape(c, g)), Marker: p.marker };
    },
    ListInstanceFleets(body) {
      const c = getCluster(body.ClusterId);
      if (c.collectionType !== 'INSTANCE_FLEET') throw new EmrApiError('InvalidRequestException', `Instance fleets are not supported for cluster ${c.id}, which uses instance groups.`);
      const p = page('ListInstanceFleets', c.instanceFleets, body.Marker);
      return { InstanceFleets: p.items.map(instanceFleetShape), Marker: p.marker };
    },
    ListInstances(body) {
      const c = getCluster(body.ClusterId);
      const groupTypes = stringSet(body.InstanceGroupTypes);
      const states = stringSet(body.InstanceStates);
      const groupRole = new Map(c.instanceGroups.map((g) => [g.id, g.role]));
      const items = c.instances.filter(
        (i) =>
          (body.InstanceGroupId === undefined || i.groupId === body.InstanceGroupId) &&
          (!groupTypes || (i.groupId !== undefined && groupTypes.has(groupRole.get(i.groupId) ?? ''))) &&
          (body.InstanceFleetId === undefined || i.fleetId === body.InstanceFleetId) &&
          (body.InstanceFleetType === undefined || (i.fleetId !== undefined && i.role === body.InstanceFleetType)) &&
          (!states || states.has(i.state)),
      );
      const p = page('ListInstances', items, body.Marker);
      return { Instances: p.items.map(instanceShape), Marker: p.marker };
    },
    ListSteps(body) {
      const c = getCluster(body.ClusterId);
      const states = stringSet(body.StepStates);
      const ids = stringSet(body.StepIds);
      // EMR lists the most recently added step first.
      const items = [...c.steps].reverse().filter((s) => (!states || states.has(s.state)) && (!ids || ids.has(s.id)));
      const p = page('ListSteps', items, body.Marker);
      return { Steps: p.items.map(stepShape), Marker: p.marker };
    },
    ListBootstrapActions(body) {
      const c = getCluster(body.ClusterId);
      const p = page('ListBootstrapActions', c.bootstrapActions, body.Marker);
      return { BootstrapActions: p.items, Marker: p.marker };
    },
    AddJobFlowSteps(body) {
      const c = getCluster(body.JobFlowId);
      if (c.state === 'TERMINATING' || c.state === 'TERMINATED' || c.state === 'TERMINATED_WITH_ERRORS') {
        throw new EmrApiError('ValidationException', `A job flow that is shutting down, terminated, or finished may not be modified.`);
      }
      if (!Array.isArray(body.Steps) || body.Steps.length === 0) throw new EmrApiError('ValidationException', "1 validation error detected: Value null at 'steps' failed to satisfy constraint: Member must not be null");
      if (c.steps.length + body.Steps.length > 256) throw new EmrApiError('ValidationException', `Maximum number of active steps(State = 'Running', 'Pending' or 'Cancel_Pending') for cluster exceeded.`);
      const added = (body.Steps as unknown[]).map((s, i) => stepRecord(s, `steps.${i + 1}.member`, now()));
      c.steps.push(...added);
      // EMR reports each added step as PENDING.
      for (const step of added) stepChange(c, step);
      // A WAITING cluster wakes up and runs them; a RUNNING one takes them after the steps it has.
      const rt = runtimes.get(c.id);
      if (c.state === 'WAITING' && rt?.waiter && !rt.awaitingHook) rt.waiter.wake();
      return { StepIds: added.map((s) => s.id) };
    },
    CancelSteps(body) {
      const c = getCluster(body.ClusterId);
      if (!Array.isArray(body.StepIds) || body.StepIds.length === 0) throw new EmrApiError('ValidationException', "1 validation error detected: Value null at 'stepIds' failed to satisfy constraint: Member must not be null");
      const info = (body.StepIds as unknown[]).map((id) => {
        const step = c.steps.find((s) => s.id === id);
        if (!step) return { StepId: id, Status: 'FAILED', Reason: `Step id '${String(id)}' is not valid.` };
        if (step.state === 'PENDING') {
          step.state = 'CANCELLED';
          step.reason = { Message: 'Cancelled by user request' };
          step.endedAt = now();
          stepChange(c, step);
          return { StepId: step.id, Status: 'SUBMITTED' };
        }
        if (step.state === 'RUNNING' && body.StepCancellationOption === 'SEND_INTERRUPT') {
          // The running step ends CANCELLED when its work stops (the cluster is terminated, or the step finishes).
          step.state = 'CANCEL_PENDING';
          stepChange(c, step);
          return { StepId: step.id, Status: 'SUBMITTED' };
        }
        return { StepId: step.id, Status: 'FAILED', Reason: `Step ${step.id} is ${step.state} and cannot be cancelled.` };
      });
      return { CancelStepsInfoList: info };
    },
    TerminateJobFlows(body) {
      const ids = body.JobFlowIds;
      if (!Array.isArray(ids) || ids.length === 0) throw new EmrApiError('ValidationException', "1 validation error detected: Value null at 'jobFlowIds' failed to satisfy constraint: Member must not be null");
      const clusters = ids.map(getCluster);
      if (clusters.some((c) => c.terminationProtected && !c.state.startsWith('TERMINAT'))) {
        throw new EmrApiError('ValidationException', 'Could not shut down one or more job flows since they are termination protected.');
      }
      for (const c of clusters) {
        const rt = runtimes.get(c.id);
        if (rt && (c.state === 'STARTING' || c.state === 'BOOTSTRAPPING' || c.state === 'RUNNING' || c.state === 'WAITING')) interrupt(rt, new Interrupt('terminate'));
      }
      return {};
    },
    AddTags(body) {
      const c = getCluster(body.ResourceId);
      if (!Array.isArray(body.Tags) || body.Tags.length === 0) throw new EmrApiError('ValidationException', "Value at 'tags' must be a non-empty list");
      for (const t of body.Tags as unknown[]) {
        const tag = t as { Key?: unknown; Value?: unknown };
        if (typeof tag?.Key !== 'string') throw new EmrApiError('ValidationException', 'Each tag must have a string Key.');
        c.tags[tag.Key] = typeof tag.Value === 'string' ? tag.Value : '';
      }
      return {};
    },
    RemoveTags(body) {
      const c = getCluster(body.ResourceId);
      for (const k of Array.isArray(body.TagKeys) ? body.TagKeys : []) if (typeof k === 'string') delete c.tags[k];
      return {};
    },
  };

  const takeFault = (op: string): EmrFault | undefined => {
    const i = faults.findIndex((f) => f.times > 0 && (f.op === undefined || f.op === op));
    if (i < 0) return undefined;
    const f = faults[i]!;
    f.times--;
    if (f.times <= 0) faults.splice(i, 1);
    return f;
  };

  const send = (res: ServerResponse, op: string, status: number, body: unknown) => {
    callLog.push({ op, status, at: now() });
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    const date = opts.maxClockSkewMs !== undefined ? { date: new Date(now()).toUTCString() } : {};
    res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...date });
    res.end(text);
  };
  const sendError = (res: ServerResponse, op: string, e: EmrApiError) => send(res, op, e.status, { __type: e.type, Message: e.message });

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_BODY) {
          reject(new EmrApiError('ValidationException', `Request body larger than ${MAX_BODY} bytes`));
          req.destroy();
        } else chunks.push(d);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('ElasticMapReduce.') ? target.slice('ElasticMapReduce.'.length) : '';
    if (req.method !== 'POST' || !op || !Object.hasOwn(ops, op)) {
      req.resume();
      return sendError(res, op || target || '?', new EmrApiError('UnknownOperationException', `Unknown operation '${target}'.`));
    }
    let body: Record<string, unknown>;
    try {
      const text = await readBody(req);
      const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new EmrApiError('SerializationException', 'Request body must be a JSON object.');
      body = parsed as Record<string, unknown>;
    } catch (e) {
      return sendError(res, op, e instanceof EmrApiError ? e : new EmrApiError('SerializationException', 'Malformed JSON request body.'));
    }
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('AWS4-HMAC-SHA256')) return sendError(res, op, new EmrApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400));
    if (opts.accessKeyIds) {
      const keyId = /Credential=([^/,\s]+)\//.exec(auth)?.[1];
      if (!keyId || !opts.accessKeyIds.includes(keyId)) return sendError(res, op, new EmrApiError('UnrecognizedClientException', 'The security token included in the request is invalid.'));
    }
    if (opts.maxClockSkewMs !== undefined) {
      const skewError = requestTimeError(String(req.headers['x-amz-date'] ?? ''), now(), opts.maxClockSkewMs);
      if (skewError) return sendError(res, op, skewError);
    }
    const fault = takeFault(op);
    if (fault?.afterHandling && (fault.kind === '5xx' || fault.kind === 'reset' || fault.kind === 'error')) {
      try {
        ops[op]!(body);
      } catch {
        /* the injected answer replaces whatever happened */
      }
    }
    if (fault) {
      switch (fault.kind) {
        case 'throttle':
          return sendError(res, op, new EmrApiError('ThrottlingException', fault.message ?? 'Rate exceeded', 400));
        case '5xx':
          return sendError(res, op, new EmrApiError(fault.type ?? 'InternalServerError', fault.message ?? 'An internal error occurred.', fault.status ?? 500));
        case 'error':
          return sendError(res, op, new EmrApiError(fault.type ?? 'InvalidRequestException', fault.message ?? 'Injected error.', fault.status ?? 400));
        case 'reset':
          callLog.push({ op, status: 0, at: now() });
          req.socket.destroy();
          return;
        case 'delay':
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, fault.delayMs ?? 1000);
            serverAbort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
          });
          if (serverAbort.signal.aborted || res.destroyed) return;
          break;
      }
    }
    try {
      send(res, op, 200, ops[op]!(body));
    } catch (e) {
      if (e instanceof EmrApiError) return sendError(res, op, e);
      return sendError(res, op, new EmrApiError('InternalServerError', `Internal error: ${errorMessage(e)}`, 500));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, '?', new EmrApiError('InternalServerError', `Internal error: ${errorMessage(e)}`, 500));
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    region,
    account,
    close() {
      closed ??= (async () => {
        serverAbort.abort();
        for (const rt of runtimes.values()) interrupt(rt, new Interrupt('shutdown'));
        await Promise.all([...runtimes.values()].map((rt) => rt.done));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
    clusters: () => [...records.values()].map(snapshot),
    cluster: (id) => {
      const c = records.get(id);
      return c ? snapshot(c) : undefined;
    },
    inject(fault) {
      if (!Number.isInteger(fault.times) || fault.times < 1) throw new Error(`inject: times must be a positive integer, got ${fault.times}`);
      faults.push({ ...fault });
    },
    clearFaults() {
      faults.length = 0;
    },
    calls: () => callLog.map((c) => ({ ...c })),
    advance(clusterId) {
      let moved = 0;
      for (const [id, rt] of runtimes) {
        if (clusterId !== undefined && id !== clusterId) continue;
        // WAITING and a running work hook end only by themselves or by a terminate.
        if (rt.waiter && !rt.awaitingHook && records.get(id)?.state !== 'WAITING') {
          rt.waiter.wake();
          moved++;
        }
      }
      return moved;
    },
    waitForState(clusterId, states, timeoutMs = 10_000) {
      const wanted = new Set(Array.isArray(states) ? states : [states]);
      return new Promise((resolve, reject) => {
        const check = () => {
          const c = records.get(clusterId);
          if (c && wanted.has(c.state)) {
            stateListeners.delete(check);
            clearTimeout(timer);
            resolve(snapshot(c));
          }
        };
        const timer = setTimeout(() => {
          stateListeners.delete(check);
          const c = records.get(clusterId);
          reject(new Error(`cluster ${clusterId} did not reach ${[...wanted].join('|')} within ${timeoutMs} ms (state ${c?.state ?? 'unknown'})`));
        }, timeoutMs);
        stateListeners.add(check);
        check();
      });
    },
  };
}

/** A step-work error may say EMR's FailureDetails Reason (e.g. 'Unknown Error.'); the default is EMR's generic one. */
export type StepWorkError = Error & { failureReason?: string };

/** FailureDetails as EMR fills them: the reason, the message, and the step's stderr under the cluster's LogUri. */
export function stepFailureDetails(c: ClusterRecord, step: StepRecord, error: unknown, message: string): NonNullable<StepRecord['failureDetails']> {
  const reason = error instanceof Error && typeof (error as StepWorkError).failureReason === 'string' ? (error as StepWorkError).failureReason! : 'Step failed';
  const details: NonNullable<StepRecord['failureDetails']> = { Reason: reason, Message: message };
  if (c.logUri !== undefined) details.LogFile = `${stepLogPrefix(c.logUri, c.id, step.id)}stderr.gz`;
  return details;
}


function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** AWS's answer to a request signed at `signed` (YYYYMMDDTHHMMSSZ) when the server's time is `nowMs`. */
function requestTimeError(signed: string, nowMs: number, maxSkewMs: number): EmrApiError | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(signed);
  if (!m) return new EmrApiError('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.', 400);
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const minutes = Math.round(maxSkewMs / 60_000);
  if (at < nowMs - maxSkewMs) return new EmrApiError('InvalidSignatureException', `Signature expired: ${signed} is now earlier than ${amzDate(nowMs - maxSkewMs)} (${amzDate(nowMs)} - ${minutes} min.)`, 400);
  if (at > nowMs + maxSkewMs) return new EmrApiError('InvalidSignatureException', `Signature not yet current: ${signed} is still later than ${amzDate(nowMs + maxSkewMs)} (${amzDate(nowMs)} + ${minutes} min.)`, 400);
  return undefined;
}
