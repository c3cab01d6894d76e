// The simulated EMR cluster: records built from a RunJobFlow request, and their API shapes.
// Times are kept as epoch milliseconds and written as epoch seconds, as the EMR JSON protocol does.
import { randomBytes } from 'node:crypto';

export type ClusterState = 'STARTING' | 'BOOTSTRAPPING' | 'RUNNING' | 'WAITING' | 'TERMINATING' | 'TERMINATED' | 'TERMINATED_WITH_ERRORS';
export type StepState = 'PENDING' | 'CANCEL_PENDING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED' | 'INTERRUPTED';
export type NodeState = 'PROVISIONING' | 'BOOTSTRAPPING' | 'RUNNING' | 'TERMINATED';
export type Reason = { Code?: string; Message?: string };

export type StepRecord = {
  id: string;
  name: string;
  actionOnFailure: string;
  config: { Jar: string; MainClass?: string; Args: string[]; Properties: Record<string, string> };
  state: StepState;
  reason: Reason;
  failureDetails?: { Reason: string; Message: string; LogFile?: string };
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
};

export type InstanceGroupRecord = {
  id: string;
  name: string;
  role: 'MASTER' | 'CORE' | 'TASK';
  market: 'ON_DEMAND' | 'SPOT';
  instanceType: string;
  requestedCount: number;
  bidPrice?: string;
  configurations?: unknown[];
  ebsConfiguration?: Record<string, unknown>;
  state: NodeState;
  reason: Reason;
  createdAt: number;
  readyAt?: number;
  endedAt?: number;
};

export type InstanceFleetRecord = {
  id: string;
  name: string;
  type: 'MASTER' | 'CORE' | 'TASK';
  targetOnDemand: number;
  targetSpot: number;
  instanceTypeConfigs: Record<string, unknown>[];
  launchSpecifications?: Record<string, unknown>;
  provisionedOnDemand: number;
  provisionedSpot: number;
  state: NodeState;
  reason: Reason;
  createdAt: number;
  readyAt?: number;
  endedAt?: number;
};

export type InstanceRecord = {
  id: string;
  ec2InstanceId: string;
  instanceType: string;
  market: 'ON_DEMAND' | 'SPOT';
  groupId?: string;
  fleetId?: string;
  role: 'MASTER' | 'CORE' | 'TASK';
  privateIp: string;
  privateDns: string;
  state: NodeState;
  reason: Reason;
  createdAt: number;
  readyAt?: number;
  endedAt?: number;
};

/** Everything the simulated EMR knows about one cluster. Plain JSON; safe to structuredClone. */
export type ClusterRecord = {
  id: string;
  arn: string;
  name: string;
  region: string;
  /** The RunJobFlow request exactly as received. */
  request: Record<string, unknown>;
  state: ClusterState;
  reason: Reason;
  createdAt: number;
  readyAt?: number;
  endedAt?: number;
  tags: Record<string, string>;
  releaseLabel: string;
  logUri?: string;
  collectionType: 'INSTANCE_GROUP' | 'INSTANCE_FLEET';
  keepAlive: boolean;
  terminationProtected: boolean;
  instanceGroups: InstanceGroupRecord[];
  instanceFleets: InstanceFleetRecord[];
  instances: InstanceRecord[];
  steps: StepRecord[];
  bootstrapActions: { Name: string; ScriptPath: string; Args: string[] }[];
  configurations: unknown[];
  applications: { Name: string }[];
};

/** A request the simulated EMR refuses: the AWS error type and its message (400 unless said). */
export class EmrApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** An EMR-style id: `prefix-` and 13 upper-case alphanumerics (j-, s-, ig-, if-, ci-). */
export function emrId(prefix: string): string {
  const bytes = randomBytes(13);
  let s = '';
  for (const b of bytes) s += ID_CHARS[b % ID_CHARS.length];
  return `${prefix}-${s}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const strOr = (v: unknown, d: string) => (typeof v === 'string' ? v : d);

function need(cond: unknown, message: string, type = 'ValidationException'): asserts cond {
  if (!cond) throw new EmrApiError(type, message);
}

function requireString(v: unknown, path: string, max = 10_240): string {
  need(v !== undefined && v !== null, `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`);
  need(typeof v === 'string' && v.length <= max, `Value at '${path}' must be a string of at most ${max} characters`);
  return v;
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined) return [];
  need(Array.isArray(v) && v.every((x) => typeof x === 'string'), `Value at '${path}' must be a list of strings`);
  return v as string[];
}

/** The address plan of the simulated VPC: 10.0.x.y, one per instance ever launched by the server. */
export type AddressPool = { next(): string };

/** Counts instances from 10.0.0.10 upwards. */
export function createAddressPool(): AddressPool {
  let n = 10;
  return {
    next() {
      const i = n++;
      return `10.0.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
    },
  };
}

function privateDns(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

function newInstance(
  c: { region: string; now: number; pool: AddressPool },
  fields: Pick<InstanceRecord, 'instanceType' | 'market' | 'role'> & { groupId?: string; fleetId?: string },
): InstanceRecord {
  const ip = c.pool.next();
  return {
    id: emrId('ci'),
    ec2InstanceId: `i-${randomBytes(9).toString('hex').slice(0, 17)}`,
    ...fields,
    privateIp: ip,
    privateDns: privateDns(ip, c.region),
    state: 'PROVISIONING',
    reason: {},
    createdAt: c.now,
  };
}

const ROLES = new Set(['MASTER', 'CORE', 'TASK']);

/**
 * Validates a RunJobFlow request the way EMR does (the parts we model) and builds the cluster
 * record, in state STARTING. Throws EmrApiError for a request EMR would refuse.
 */
export function createClusterRecord(
  request: Record<string, unknown>,
  ctx: { region: string; account: string; now: number; pool: AddressPool },
): ClusterRecord {
  const name = requireString(request.Name, 'name', 256);
  need(name.length > 0, "Value at 'name' must not be empty");
  const releaseLabel = requireString(request.ReleaseLabel, 'releaseLabel', 256);
  need(/^emr-\d+\.\d+\.\d+$/.test(releaseLabel), `The release label '${releaseLabel}' is not valid.`, 'InvalidRequestException');
  const instancesIn = request.Instances;
  need(instancesIn !== undefined && instancesIn !== null, "1 validation error detected: Value null at 'instances' failed to satisfy constraint: Member must not be null");
  need(isObject(instancesIn), "Value at 'instances' must be a structure");
  const id = emrId('j');
  const now = ctx.now;
  const nodeCtx = { region: ctx.region, now, pool: ctx.pool };
  const instanceGroups: InstanceGroupRecord[] = [];
  const instanceFleets: InstanceFleetRecord[] = [];
  const instances: InstanceRecord[] = [];
  const groupsIn = instancesIn.InstanceGroups;
  const fleetsIn = instancesIn.InstanceFleets;
  need(!(groupsIn !== undefined && fleetsIn !== undefined), 'Instances may specify InstanceGroups or InstanceFleets, not both.');

  const addGroup = (g: Record<string, unknown>, path: string) => {
    const role = requireString(g.InstanceRole, `${path}.instanceRole`);
    need(ROLES.has(role), `Value '${role}' at '${path}.instanceRole' failed to satisfy constraint: Member must satisfy enum value set: [MASTER, CORE, TASK]`);
    const instanceType = requireString(g.InstanceType, `${path}.instanceType`, 256);
    const count = g.InstanceCount;
    need(Number.isInteger(count) && (count as number) >= 0, `Value at '${path}.instanceCount' must be a non-negative integer`);
    const market = g.Market === 'SPOT' ? 'SPOT' : 'ON_DEMAND';
    const group: InstanceGroupRecord = {
      id: emrId('ig'),
      name: strOr(g.Name, role === 'MASTER' ? 'Master' : role === 'CORE' ? 'Core' : 'Task'),
      role: role as InstanceGroupRecord['role'],
      market,
      instanceType,
      requestedCount: count as number,
      state: 'PROVISIONING',
      reason: {},
      createdAt: now,
    };
    if (typeof g.BidPrice === 'string') group.bidPrice = g.BidPrice;
    if (Array.isArray(g.Configurations)) group.configurations = g.Configurations;
    if (isObject(g.EbsConfiguration)) group.ebsConfiguration = g.EbsConfiguration;
    instanceGroups.push(group);
    for (let i = 0; i < group.requestedCount; i++) instances.push(newInstance(nodeCtx, { instanceType, market, role: group.role, groupId: group.id }));
  };

  let collectionType: ClusterRecord['collectionType'] = 'INSTANCE_GROUP';
  if (groupsIn !== undefined) {
    need(Array.isArray(groupsIn) && groupsIn.length > 0, "Value at 'instances.instanceGroups' must be a non-empty list");
    groupsIn.forEach((g, i) => {
      need(isObject(g), `Value at 'instances.instanceGroups.${i + 1}' must be a structure`);
      addGroup(g, `instances.instanceGroups.${i + 1}.member`);
    });
    const masters = instanceGroups.filter((g) => g.role === 'MASTER');
    need(masters.length === 1 && masters[0]?.requestedCount === 1, 'A cluster must have exactly one MASTER instance group with InstanceCount 1.', 'InvalidRequestException');
  } else if (fleetsIn !== undefined) {
    collectionType = 'INSTANCE_FLEET';
    need(Array.isArray(fleetsIn) && fleetsIn.length > 0, "Value at 'instances.instanceFleets' must be a non-empty list");
    fleetsIn.forEach((f, i) => {
      const path = `instances.instanceFleets.${i + 1}.member`;
      need(isObject(f), `Value at '${path}' must be a structure`);
      const type = requireString(f.InstanceFleetType, `${path}.instanceFleetType`);
      need(ROLES.has(type), `Value '${type}' at '${path}.instanceFleetType' failed to satisfy constraint: Member must satisfy enum value set: [MASTER, CORE, TASK]`);
      const configs = f.InstanceTypeConfigs;
      need(Array.isArray(configs) && configs.length > 0 && configs.every(isObject), `Value at '${path}.instanceTypeConfigs' must be a non-empty list of structures`);
      configs.forEach((c: Record<string, unknown>, j) => requireString(c.InstanceType, `${path}.instanceTypeConfigs.${j + 1}.member.instanceType`, 256));
      const onDemand = typeof f.TargetOnDemandCapacity === 'number' ? f.TargetOnDemandCapacity : 0;
      const spot = typeof f.TargetSpotCapacity === 'number' ? f.TargetSpotCapacity : 0;
      need(onDemand + spot > 0, `The instance fleet '${strOr(f.Name, type)}' must have a positive target capacity.`, 'InvalidRequestException');
      const fleet: InstanceFleetRecord = {
        id: emrId('if'),
        name: strOr(f.Name, type === 'MASTER' ? 'Master' : type === 'CORE' ? 'Core' : 'Task'),
        type: type as InstanceFleetRecord['type'],
        targetOnDemand: onDemand,
        targetSpot: spot,
        instanceTypeConfigs: configs as Record<string, unknown>[],
        provisionedOnDemand: 0,
        provisionedSpot: 0,
        state: 'PROVISIONING',
        reason: {},
        createdAt: now,
      };
      if (isObject(f.LaunchSpecifications)) fleet.launchSpecifications = f.LaunchSpecifications;
      // EMR picks among the listed types; the simulation always takes the first one.
      const first = configs[0] as Record<string, unknown>;
      const weight = typeof first.WeightedCapacity === 'number' && first.WeightedCapacity > 0 ? first.WeightedCapacity : 1;
      const instanceType = first.InstanceType as string;
      const od = Math.ceil(onDemand / weight);
      const sp = Math.ceil(spot / weight);
      fleet.provisionedOnDemand = od * weight;
      fleet.provisionedSpot = sp * weight;
      for (let k = 0; k < od; k++) instances.push(newInstance(nodeCtx, { instanceType, market: 'ON_DEMAND', role: fleet.type, fleetId: fleet.id }));
      for (let k = 0; k < sp; k++) instances.push(newInstance(nodeCtx, { instanceType, market: 'SPOT', role: fleet.type, fleetId: fleet.id }));
      instanceFleets.push(fleet);
    });
    need(instanceFleets.filter((f) => f.type === 'MASTER').length === 1, 'A cluster must have exactly one MASTER instance fleet.', 'InvalidRequestException');
  } else {
    need(
      typeof instancesIn.MasterInstanceType === 'string',
      'Instances must specify InstanceGroups, InstanceFleets or MasterInstanceType.',
    );
    const count = instancesIn.InstanceCount === undefined ? 1 : instancesIn.InstanceCount;
    need(Number.isInteger(count) && (count as number) >= 1, "Value at 'instances.instanceCount' must be a positive integer");
    addGroup({ InstanceRole: 'MASTER', InstanceType: instancesIn.MasterInstanceType, InstanceCount: 1 }, 'instances.master');
    if ((count as number) > 1) {
      addGroup(
        { InstanceRole: 'CORE', InstanceType: strOr(instancesIn.SlaveInstanceType, instancesIn.MasterInstanceType as string), InstanceCount: (count as number) - 1 },
        'instances.slave',
      );
    }
  }

  const stepsIn = request.Steps ?? [];
  need(Array.isArray(stepsIn), "Value at 'steps' must be a list");
  const stepRecords = (stepsIn as unknown[]).map((s, i) => stepRecord(s, `steps.${i + 1}.member`, now));

  const bootstrapIn = request.BootstrapActions ?? [];
  need(Array.isArray(bootstrapIn), "Value at 'bootstrapActions' must be a list");
  const bootstrapActions = bootstrapIn.map((b: unknown, i) => {
    const path = `bootstrapActions.${i + 1}.member`;
    need(isObject(b), `Value at '${path}' must be a structure`);
    const script = b.ScriptBootstrapAction;
    need(isObject(script), `1 validation error detected: Value null at '${path}.scriptBootstrapAction' failed to satisfy constraint: Member must not be null`);
    return { Name: requireString(b.Name, `${path}.name`, 256), ScriptPath: requireString(script.Path, `${path}.scriptBootstrapAction.path`), Args: stringList(script.Args, `${path}.scriptBootstrapAction.args`) };
  });

  const tags: Record<string, string> = {};
  const tagsIn = request.Tags ?? [];
  need(Array.isArray(tagsIn), "Value at 'tags' must be a list");
  for (const t of tagsIn as unknown[]) {
    need(isObject(t) && typeof t.Key === 'string', 'Each tag must have a string Key.');
    tags[t.Key as string] = typeof t.Value === 'string' ? t.Value : '';
  }

  const configurations = request.Configurations ?? [];
  need(Array.isArray(configurations), "Value at 'configurations' must be a list");
  const applications = Array.isArray(request.Applications)
    ? (request.Applications as unknown[]).filter(isObject).map((a) => ({ Name: strOr(a.Name, 'Unknown') }))
    : [{ Name: 'Hadoop' }];

  const record: ClusterRecord = {
    id,
    arn: `arn:aws:elasticmapreduce:${ctx.region}:${ctx.account}:cluster/${id}`,
    name,
    region: ctx.region,
    request: structuredClone(request),
    state: 'STARTING',
    reason: {},
    createdAt: now,
    tags,
    releaseLabel,
    collectionType,
    keepAlive: instancesIn.KeepJobFlowAliveWhenNoSteps === true,
    terminationProtected: instancesIn.TerminationProtected === true,
    instanceGroups,
    instanceFleets,
    instances,
    steps: stepRecords,
    bootstrapActions,
    configurations,
    applications,
  };
  if (typeof request.LogUri === 'string') record.logUri = request.LogUri;
  return record;
}

/** Validates one StepConfig into a PENDING step record. */
export function stepRecord(s: unknown, path: string, now: number): StepRecord {
  need(isObject(s), `Value at '${path}' must be a structure`);
  const name = requireString(s.Name, `${path}.name`, 256);
  const jarStep = s.HadoopJarStep;
  need(isObject(jarStep), `1 validation error detected: Value null at '${path}.hadoopJarStep' failed to satisfy constraint: Member must not be null`);
  const jar = requireString(jarStep.Jar, `${path}.hadoopJarStep.jar`);
  const properties: Record<string, string> = {};
  if (jarStep.Properties !== undefined) {
    need(Array.isArray(jarStep.Properties), `Value at '${path}.hadoopJarStep.properties' must be a list`);
    for (const p of jarStep.Properties as unknown[]) if (isObject(p) && typeof p.Key === 'string') properties[p.Key] = strOr(p.Value, '');
  }
  const config: StepRecord['config'] = { Jar: jar, Args: stringList(jarStep.Args, `${path}.hadoopJarStep.args`), Properties: properties };
  if (typeof jarStep.MainClass === 'string') config.MainClass = jarStep.MainClass;
  return { id: emrId('s'), name, actionOnFailure: strOr(s.ActionOnFailure, 'TERMINATE_CLUSTER'), config, state: 'PENDING', reason: {}, createdAt: now };
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function timeline(r: { createdAt: number; readyAt?: number; endedAt?: number }) {
  return { CreationDateTime: seconds(r.createdAt), ReadyDateTime: seconds(r.readyAt), EndDateTime: seconds(r.endedAt) };
}

/** Hadoop "normalized instance hours" weight of an instance type (small = 1, doubling per size). */
export function normalizationFactor(instanceType: string): number {
  const size = instanceType.split('.')[1] ?? '';
  const table: Record<string, number> = { nano: 0.25, micro: 0.5, small: 1, medium: 2, large: 4, xlarge: 8 };
  if (size in table) return table[size]!;
  const m = /^(\d+)xlarge$/.exec(size);
  if (m) return 8 * Number(m[1]);
  if (size === 'metal') return 192;
  return 8;
}

/** EMR bills normalized hours per instance, each started hour counted whole. */
export function normalizedInstanceHours(c: ClusterRecord, now: number): number {
  let total = 0;
  for (const i of c.instances) {
    if (i.readyAt === undefined) continue;
    const hours = Math.max(1, Math.ceil(((i.endedAt ?? now) - i.readyAt) / 3_600_000));
    total += hours * normalizationFactor(i.instanceType);
  }
  return total;
}

function clusterStatus(c: ClusterRecord) {
  return { State: c.state, StateChangeReason: c.reason, Timeline: timeline(c) };
}

/** The ClusterSummary shape of ListClusters. */
export function clusterSummary(c: ClusterRecord, now: number): Record<string, unknown> {
  return { Id: c.id, Name: c.name, Status: clusterStatus(c), NormalizedInstanceHours: normalizedInstanceHours(c, now), ClusterArn: c.arn };
}

/** The Cluster shape of DescribeCluster. */
export function clusterDescription(c: ClusterRecord, now: number): Record<string, unknown> {
  const req = c.request;
  const inst = (isObject(req.Instances) ? req.Instances : {}) as Record<string, unknown>;
  const subnets = Array.isArray(inst.Ec2SubnetIds) ? (inst.Ec2SubnetIds as string[]) : typeof inst.Ec2SubnetId === 'string' ? [inst.Ec2SubnetId] : [];
  const master = c.instances.find((i) => i.role === 'MASTER');
  const placement = isObject(inst.Placement) ? inst.Placement : {};
  const az = typeof placement.AvailabilityZone === 'string' ? placement.AvailabilityZone : `${c.region}a`;
  return {
    Id: c.id,
    Name: c.name,
    Status: clusterStatus(c),
    Ec2InstanceAttributes: {
      Ec2KeyName: inst.Ec2KeyName,
      Ec2SubnetId: subnets[0],
      RequestedEc2SubnetIds: subnets,
      Ec2AvailabilityZone: az,
      RequestedEc2AvailabilityZones: Array.isArray(placement.AvailabilityZones) ? placement.AvailabilityZones : [],
      IamInstanceProfile: req.JobFlowRole,
      EmrManagedMasterSecurityGroup: inst.EmrManagedMasterSecurityGroup,
      EmrManagedSlaveSecurityGroup: inst.EmrManagedSlaveSecurityGroup,
      ServiceAccessSecurityGroup: inst.ServiceAccessSecurityGroup,
      AdditionalMasterSecurityGroups: inst.AdditionalMasterSecurityGroups ?? [],
      AdditionalSlaveSecurityGroups: inst.AdditionalSlaveSecurityGroups ?? [],
    },
    InstanceCollectionType: c.collectionType,
    LogUri: c.logUri,
    ReleaseLabel: c.releaseLabel,
    AutoTerminate: !c.keepAlive,
    TerminationProtected: c.terminationProtected,
    VisibleToAllUsers: req.VisibleToAllUsers !== false,
    Applications: c.applications,
    Tags: Object.entries(c.tags).map(([Key, Value]) => ({ Key, Value })),
    ServiceRole: req.ServiceRole,
    NormalizedInstanceHours: normalizedInstanceHours(c, now),
    MasterPublicDnsName: master?.readyAt !== undefined && master.endedAt === undefined ? master.privateDns : undefined,
    Configurations: c.configurations,
    SecurityConfiguration: req.SecurityConfiguration,
    AutoScalingRole: req.AutoScalingRole,
    ScaleDownBehavior: req.ScaleDownBehavior ?? 'TERMINATE_AT_TASK_COMPLETION',
    CustomAmiId: req.CustomAmiId,
    EbsRootVolumeSize: req.EbsRootVolumeSize,
    StepConcurrencyLevel: typeof req.StepConcurrencyLevel === 'number' ? req.StepConcurrencyLevel : 1,
    ClusterArn: c.arn,
    PlacementGroups: req.PlacementGroupConfigs ?? [],
  };
}

/** The InstanceGroup shape of ListInstanceGroups. */
export function instanceGroupShape(c: ClusterRecord, g: InstanceGroupRecord): Record<string, unknown> {
  const running = c.instances.filter((i) => i.groupId === g.id && i.state === 'RUNNING').length;
  return {
    Id: g.id,
    Name: g.name,
    Market: g.market,
    InstanceGroupType: g.role,
    BidPrice: g.bidPrice,
    InstanceType: g.instanceType,
    RequestedInstanceCount: g.requestedCount,
    RunningInstanceCount: running,
    Status: { State: g.state === 'TERMINATED' ? 'ENDED' : g.state, StateChangeReason: g.reason, Timeline: timeline(g) },
    Configurations: g.configurations ?? [],
    ConfigurationsVersion: 0,
    EbsBlockDevices: [],
    EbsOptimized: g.ebsConfiguration?.EbsOptimized === true,
    ShrinkPolicy: {},
  };
}

/** The InstanceFleet shape of ListInstanceFleets. */
export function instanceFleetShape(f: InstanceFleetRecord): Record<string, unknown> {
  return {
    Id: f.id,
    Name: f.name,
    Status: { State: f.state, StateChangeReason: f.reason, Timeline: timeline(f) },
    InstanceFleetType: f.type,
    TargetOnDemandCapacity: f.targetOnDemand,
    TargetSpotCapacity: f.targetSpot,
    ProvisionedOnDemandCapacity: f.state === 'RUNNING' ? f.provisionedOnDemand : 0,
    ProvisionedSpotCapacity: f.state === 'RUNNING' ? f.provisionedSpot : 0,
    InstanceTypeSpecifications: f.instanceTypeConfigs.map((t) => ({
      InstanceType: t.InstanceType,
      WeightedCapacity: typeof t.WeightedCapacity === 'number' ? t.WeightedCapacity : 1,
      BidPrice: t.BidPrice,
      BidPriceAsPercentageOfOnDemandPrice: t.BidPriceAsPercentageOfOnDemandPrice,
      Configurations: t.Configurations ?? [],
      EbsBlockDevices: [],
      EbsOptimized: isObject(t.EbsConfiguration) && t.EbsConfiguration.EbsOptimized === true,
    })),
    LaunchSpecifications: f.launchSpecifications,
  };
}

/** The Instance shape of ListInstances. */
export function instanceShape(i: InstanceRecord): Record<string, unknown> {
  return {
    Id: i.id,
    Ec2InstanceId: i.ec2InstanceId,
    PrivateDnsName: i.privateDns,
    PrivateIpAddress: i.privateIp,
    Status: { State: i.state, StateChangeReason: i.reason, Timeline: timeline(i) },
    InstanceGroupId: i.groupId,
    InstanceFleetId: i.fleetId,
    Market: i.market,
    InstanceType: i.instanceType,
    EbsVolumes: [],
  };
}

/** The StepSummary shape of ListSteps. */
export function stepShape(s: StepRecord): Record<string, unknown> {
  return {
    Id: s.id,
    Name: s.name,
    Config: s.config,
    ActionOnFailure: s.actionOnFailure,
    Status: {
      State: s.state,
      StateChangeReason: s.reason,
      FailureDetails: s.failureDetails,
      Timeline: { CreationDateTime: seconds(s.createdAt), StartDateTime: seconds(s.startedAt), EndDateTime: seconds(s.endedAt) },
    },
  };
}
