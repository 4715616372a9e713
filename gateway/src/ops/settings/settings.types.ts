import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Maintenance mode: every operation but the ops ones and an admin sign-in gets SYS-001' })
export class MaintenanceSettings {
  @Field()
  public enabled!: boolean;

  @Field({ description: 'What clients are told (the SYS-001 message)' })
  public message!: string;
}

@ObjectType({ description: 'Per-client rate limit (the user, else the address), shared by every gateway process' })
export class RateLimitSettings {
  @Field(() => Int, { description: 'Steady allowance per 60-second window; 0 = no limit' })
  public requestsPerMinute!: number;

  @Field(() => Int, { description: 'Extra requests per window once the steady allowance is used up' })
  public burst!: number;
}

@ObjectType({ description: 'Emergency throttle: a cap on all traffic together' })
export class EmergencyThrottleSettings {
  @Field()
  public enabled!: boolean;

  @Field(() => Int)
  public requestsPerMinute!: number;
}

@ObjectType({ description: "A subgraph's circuit breaker (in the gateway)" })
export class CircuitBreakerSettings {
  @Field()
  public service!: string;

  @Field()
  public enabled!: boolean;

  @Field(() => Int, { description: 'Failures within 10 s (and at least half of the calls) that open it' })
  public failureThreshold!: number;

  @Field(() => Int, { description: 'Seconds open before one probe request is let through (half-open)' })
  public resetTimeoutSeconds!: number;

  @Field({ description: 'State in the gateway process that answered: closed, open, halfOpen or disabled' })
  public state!: string;
}

@ObjectType({ description: 'A log level override of one service' })
export class LogLevelSetting {
  @Field()
  public service!: string;

  @Field()
  public level!: string;

  @Field(() => Date, { nullable: true, description: 'When it reverts to the configured level' })
  public until!: Date | null;
}

@ObjectType({ description: 'A trace sampling override of one service' })
export class TraceSamplingSetting {
  @Field()
  public service!: string;

  @Field(() => Float, { description: '0 (no traces) to 1 (every request)' })
  public rate!: number;

  @Field(() => Date, { nullable: true, description: 'When it reverts to the configured rate' })
  public until!: Date | null;
}

@ObjectType({ description: 'An HTTP response header' })
export class Header {
  @Field()
  public name!: string;

  @Field()
  public value!: string;
}

@InputType({ description: 'An HTTP response header sent on every gateway response' })
export class HeaderInput {
  @Field()
  public name!: string;

  @Field()
  public value!: string;
}

@ObjectType({ description: 'The platform controls in force (the same in every gateway and subgraph process)' })
export class OpsSettings {
  @Field(() => MaintenanceSettings)
  public maintenance!: MaintenanceSettings;

  @Field(() => RateLimitSettings)
  public rateLimit!: RateLimitSettings;

  @Field(() => EmergencyThrottleSettings)
  public emergencyThrottle!: EmergencyThrottleSettings;

  @Field(() => [CircuitBreakerSettings], { description: 'One per subgraph' })
  public circuitBreakers!: CircuitBreakerSettings[];

  @Field(() => [String], { description: 'Subgraphs refusing mutations (SYS-002) while serving reads' })
  public readOnlyServices!: string[];

  @Field(() => [LogLevelSetting], { description: 'Unexpired log level overrides' })
  public logLevels!: LogLevelSetting[];

  @Field(() => [Header], { description: 'Sent on every gateway response' })
  public securityHeaders!: Header[];

  @Field(() => [String], { description: 'Extra redaction patterns (regular expressions) of every service logger' })
  public piiPatterns!: string[];

  @Field(() => [TraceSamplingSetting], { description: 'Unexpired trace sampling overrides' })
  public traceSampling!: TraceSamplingSetting[];

  @Field(() => Date, { nullable: true })
  public updatedAt!: Date | null;
}
