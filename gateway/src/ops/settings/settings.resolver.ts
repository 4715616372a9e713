import { Arg, Authorized, Ctx, Float, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { OpsContext } from '../ops.context';
import type { OpsSettingsView } from './settings.service';
import { HeaderInput, OpsSettings } from './settings.types';

/**
 * Platform controls (ADMIN only: others get PERM-001, anonymous AUTH-001). Every change is
 * audited (service `ops`) and reaches every gateway and subgraph process within a second.
 */
@Authorized('ADMIN')
@Resolver()
export class SettingsResolver {
  @Query(() => OpsSettings, { description: 'ADMIN: the platform controls in force' })
  opsSettings(@Ctx() ctx: OpsContext): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'opsSettings', {}, () => ctx.ops.settings.view());
  }

  @Mutation(() => OpsSettings, {
    description: 'ADMIN: every operation but the ops ones and an admin sign-in gets SYS-001 with the message',
  })
  setMaintenanceMode(
    @Arg('enabled') enabled: boolean,
    @Ctx() ctx: OpsContext,
    @Arg('message', () => String, { nullable: true }) message?: string | null,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setMaintenanceMode', { enabled, message }, () =>
      ctx.ops.settings.setMaintenanceMode(enabled, message),
    );
  }

  @Mutation(() => OpsSettings, {
    description: 'ADMIN: per-client limit (user, else address): requests per minute plus a burst allowance; 0 turns it off',
  })
  setRateLimit(
    @Arg('requestsPerMinute', () => Int) requestsPerMinute: number,
    @Arg('burst', () => Int) burst: number,
    @Ctx() ctx: OpsContext,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setRateLimit', { requestsPerMinute, burst }, () =>
      ctx.ops.settings.setRateLimit(requestsPerMinute, burst),
    );
  }

  @Mutation(() => Boolean, { description: 'ADMIN: forgets a client’s counters (user id or address); true if it had any' })
  resetRateLimit(@Arg('clientId') clientId: string, @Ctx() ctx: OpsContext): Promise<boolean> {
    return ctx.ops.audit.run(ctx, 'resetRateLimit', { clientId }, () => ctx.ops.settings.resetRateLimit(clientId));
  }

  @Mutation(() => OpsSettings, { description: 'ADMIN: caps all traffic together (requests per minute)' })
  setEmergencyThrottle(
    @Arg('enabled') enabled: boolean,
    @Ctx() ctx: OpsContext,
    @Arg('requestsPerMinute', () => Int, { nullable: true }) requestsPerMinute?: number | null,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setEmergencyThrottle', { enabled, requestsPerMinute }, () =>
      ctx.ops.settings.setEmergencyThrottle(enabled, requestsPerMinute),
    );
  }

  @Mutation(() => OpsSettings, { description: "ADMIN: a subgraph's circuit breaker in every gateway process" })
  setCircuitBreaker(
    @Arg('service') service: string,
    @Arg('enabled') enabled: boolean,
    @Ctx() ctx: OpsContext,
    @Arg('failureThreshold', () => Int, { nullable: true }) failureThreshold?: number | null,
    @Arg('resetTimeoutSeconds', () => Int, { nullable: true }) resetTimeoutSeconds?: number | null,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setCircuitBreaker', { service, enabled, failureThreshold, resetTimeoutSeconds }, () =>
      ctx.ops.settings.setCircuitBreaker(service, enabled, failureThreshold, resetTimeoutSeconds),
    );
  }

  @Mutation(() => OpsSettings, { description: 'ADMIN: the subgraph refuses mutations (SYS-002) and keeps serving reads' })
  setReadOnlyMode(
    @Arg('service') service: string,
    @Arg('enabled') enabled: boolean,
    @Ctx() ctx: OpsContext,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setReadOnlyMode', { service, enabled }, () =>
      ctx.ops.settings.setReadOnlyMode(service, enabled),
    );
  }

  @Mutation(() => OpsSettings, {
    description: "ADMIN: a running service's log level (a subgraph, gateway, or * for all) for a while (default 60 minutes)",
  })
  setLogLevel(
    @Arg('service') service: string,
    @Arg('level') level: string,
    @Ctx() ctx: OpsContext,
    @Arg('durationMinutes', () => Int, { nullable: true }) durationMinutes?: number | null,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setLogLevel', { service, level, durationMinutes }, () =>
      ctx.ops.settings.setLogLevel(service, level, durationMinutes),
    );
  }

  @Mutation(() => OpsSettings, { description: 'ADMIN: every service back to its configured log level' })
  resetLogLevels(@Ctx() ctx: OpsContext): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'resetLogLevels', {}, () => ctx.ops.settings.resetLogLevels());
  }

  @Mutation(() => Int, {
    description: 'ADMIN: closes live (WebSocket) connections, of one user or all, in every gateway process; how many',
  })
  disconnectClients(
    @Arg('reason') reason: string,
    @Ctx() ctx: OpsContext,
    @Arg('userId', () => ID, { nullable: true }) userId?: string | null,
  ): Promise<number> {
    return ctx.ops.audit.run(ctx, 'disconnectClients', { reason, userId }, () =>
      ctx.ops.disconnect(userId ?? null, reason.slice(0, 200)),
    );
  }

  @Mutation(() => OpsSettings, {
    description: 'ADMIN: replaces the security headers sent on every gateway response ([] clears them)',
  })
  setSecurityHeaders(
    @Arg('headers', () => [HeaderInput]) headers: HeaderInput[],
    @Ctx() ctx: OpsContext,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setSecurityHeaders', { headers }, () => ctx.ops.settings.setSecurityHeaders(headers));
  }

  @Mutation(() => OpsSettings, {
    description: 'ADMIN: replaces the extra redaction patterns (regular expressions) of every service logger',
  })
  setPiiPatterns(@Arg('patterns', () => [String]) patterns: string[], @Ctx() ctx: OpsContext): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setPiiPatterns', { patterns }, () => ctx.ops.settings.setPiiPatterns(patterns));
  }

  @Mutation(() => OpsSettings, { description: "ADMIN: a service's trace sampling rate (0–1) for a while (default 60 minutes)" })
  setTraceSampling(
    @Arg('service') service: string,
    @Arg('rate', () => Float) rate: number,
    @Ctx() ctx: OpsContext,
    @Arg('durationMinutes', () => Int, { nullable: true }) durationMinutes?: number | null,
  ): Promise<OpsSettingsView> {
    return ctx.ops.audit.run(ctx, 'setTraceSampling', { service, rate, durationMinutes }, () =>
      ctx.ops.settings.setTraceSampling(service, rate, durationMinutes),
    );
  }
}
