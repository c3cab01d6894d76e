// EventBridge events as EMR publishes them, built from the simulated cluster records.
import { randomUUID } from 'node:crypto';
import type { ClusterRecord, StepRecord } from './emr-cluster.js';

/** An EventBridge event envelope as delivered to SQS (the message body is this JSON). */
export type EventBridgeEvent<D> = {
  version: '0';
  id: string;
  'detail-type': string;
  source: 'aws.emr';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: D;
};

/** `detail` of "EMR Cluster State Change"; `stateChangeReason` is itself a JSON string. */
export type ClusterStateChangeDetail = {
  severity: 'INFO' | 'WARN' | 'CRITICAL';
  stateChangeReason: string;
  name: string;
  clusterId: string;
  state: string;
  message: string;
};

const utcMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const utcSecond = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';

function clusterMessage(c: ClusterRecord, at: number): string {
  const who = `${c.id} (${c.name})`;
  const code = c.reason.Code ?? '';
  switch (c.state) {
    case 'STARTING':
      return `Amazon EMR cluster ${who} was requested at ${utcMinute(c.createdAt)} and is being created.`;
    case 'BOOTSTRAPPING':
      return `Amazon EMR cluster ${who} is running bootstrap actions.`;
    case 'RUNNING':
      return `Amazon EMR cluster ${who} is running steps.`;
    case 'WAITING':
      return `Amazon EMR cluster ${who} was created at ${utcMinute(c.createdAt)} and is ready for use.`;
    case 'TERMINATING':
      return `Amazon EMR Cluster ${who} is terminating with a reason of ${code}.`;
    case 'TERMINATED':
      return `Amazon EMR Cluster ${who} has terminated at ${utcMinute(c.endedAt ?? at)} with a reason of ${code}.`;
    case 'TERMINATED_WITH_ERRORS':
      return `Amazon EMR Cluster ${who} has terminated with errors at ${utcMinute(c.endedAt ?? at)} with a reason of ${code}.`;
  }
}

/**
 * The "EMR Cluster State Change" event EMR sends to EventBridge for the cluster's current state,
 * with `detail.stateChangeReason` encoded as a JSON string the way EMR does (`{"code":""}` when empty).
 */
export function eventBridgeClusterEvent(
  cluster: ClusterRecord,
  region: string,
  account: string,
  at: number = Date.now(),
): EventBridgeEvent<ClusterStateChangeDetail> {
  const reason: Record<string, string> = { code: cluster.reason.Code ?? '' };
  if (cluster.reason.Message !== undefined) reason.message = cluster.reason.Message;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EMR Cluster State Change',
    source: 'aws.emr',
    account,
    time: utcSecond(at),
    region,
    resources: [],
    detail: {
      severity: cluster.state === 'TERMINATED_WITH_ERRORS' ? 'CRITICAL' : 'INFO',
      stateChangeReason: JSON.stringify(reason),
      name: cluster.name,
      clusterId: cluster.id,
      state: cluster.state,
      message: clusterMessage(cluster, at),
    },
  };
}

/** The "EMR Step Status Change" event for one step of a cluster. */
export function eventBridgeStepEvent(
  cluster: ClusterRecord,
  step: StepRecord,
  region: string,
  account: string,
  at: number = Date.now(),
): EventBridgeEvent<Record<string, string>> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EMR Step Status Change',
    source: 'aws.emr',
    account,
    time: utcSecond(at),
    region,
    resources: [],
    detail: {
      severity: step.state === 'FAILED' ? 'ERROR' : 'INFO',
      actionOnFailure: step.actionOnFailure,
      stepId: step.id,
      name: step.name,
      clusterId: cluster.id,
      state: step.state,
      message: `Step ${step.id} (${step.name}) in Amazon EMR cluster ${cluster.id} (${cluster.name}) is ${step.state.toLowerCase()}.`,
    },
  };
}
