/**
 * The API app: wires configuration, the event store, the read-model database and the
 * followers of this process (projections, and the Kafka relay when KAFKA_BROKERS is set;
 * with RUN_PROJECTIONS=false none: it follows the checkpoints of apps/projector and
 * apps/relay), and its metrics. Built with `AppModule.forRoot` so tests can boot it
 * against their own database and projections.
 */
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AccessTokens, IdentityService, SystemRoles } from '@herald/identity';
import type { HeraldConfig } from '@herald/config';
import { migrateDatabase, type DatabaseTimeouts } from '@herald/database';
import { openConfiguredEventStore, type EventStore } from '@herald/event-store';
import { CHECKPOINT_WAITER, HeraldExceptionFilter, JsonLogger } from '@herald/nest';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import { HeraldMetrics, MeteredEventStore } from '@herald/observability';
import { kafkaRelay, KafkaJsProducer, relayName, type IntegrationProducer } from '@herald/relay';
import { DataSource } from 'typeorm';
import { createHmac } from 'node:crypto';
import { ConversationService } from '@herald/conversations';
import { OPERATOR_CHECK, type OperatorCheck } from './operators/operator.js';
import { ProjectionsController } from './operators/projections.controller.js';
import { readModelMigrations, readModelProjections, readModelQueryHandlers, SEARCH_OPTIONS } from '@herald/projections';
import { AuthController } from './auth/auth.controller.js';
import { IDENTITY_COMMAND_HANDLERS } from './auth/identity.commands.js';
import { IDENTITY_QUERY_HANDLERS } from './auth/identity.queries.js';
import { CONVERSATION_COMMAND_HANDLERS } from './conversations/conversation.commands.js';
import { CONVERSATION_QUERY_HANDLERS } from './conversations/conversation.queries.js';
import { ConversationsController } from './conversations/conversations.controller.js';
import { PeopleController } from './people/people.controller.js';
import { MeController } from './me/me.controller.js';
import { LiveEvents } from './live-events.js';
import { MayWatchPresenceHandler } from './push/presence-visibility.js';
import { PushGateway } from './push/push.gateway.js';
import { PRESENCE_MIGRATIONS } from './push/presence.js';
import { AuthGuard } from './auth/auth.guard.js';
import { RateLimits } from './auth/rate-limits.js';
import { HealthController } from './health/health.controller.js';
import { CommandMetrics } from './command-metrics.js';
import { PROJECTION_SETTINGS, ProjectionsService, type ProjectionSettings } from './projections.service.js';
import { SearchController } from './search/search.controller.js';
import { SealerService } from './sealer.service.js';
import { AuditController } from './audit/audit.controller.js';
import { auditProviders } from './audit/audit.providers.js';
import { NOTIFICATION_MIGRATIONS } from '@herald/notifications';
import { DevicesController } from './notifications/devices.controller.js';
import { NotificationsService } from './notifications/notifications.service.js';
import { CONFIG, DATABASE_URL, EVENT_STORE, INTEGRATION_PRODUCER, NOTIFIER_ENABLED, PROJECTIONS } from './tokens.js';

export interface AppOptions {
  readonly config: HeraldConfig;
  /** The PostgreSQL to use (from DATABASE_URL or the embedded server). */
  readonly databaseUrl: string;
  readonly logger: JsonLogger;
  /** Followers to run besides Herald's own read models (tests add theirs). */
  readonly projections?: readonly Projection[];
  /** Signs access tokens: the config's JWT_SECRET, or the one kept in the data directory. */
  readonly jwtSecret: string;
  /**
   * Who is an operator (operators/operator.ts): by default whoever holds the system `operator`
   * role now (`herald roles grant`, read from the user's stream); tests may name theirs.
   */
  readonly operatorCheck?: OperatorCheck;
  /** Run the notifier in this process (default true; tests that run it in a child process say false). */
  readonly notifier?: boolean;
  /**
   * The event store to use instead of opening the configured one (the tests' simulated
   * EventStoreDB, which no connection string reaches); the configuration still says which
   * kind it is. Closed with the app.
   */
  readonly eventStore?: EventStore;
  /** Where this process's metrics go (`/metrics`); createApp makes one when not given. */
  readonly metrics?: HeraldMetrics;
}

/**
 * Closes the connections when the app shuts down: after the followers stopped
 * (beforeApplicationShutdown), before the database stops.
 */
@Injectable()
class Closer implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dataSource: DataSource,
    @Inject(INTEGRATION_PRODUCER) private readonly producer: IntegrationProducer | null,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.producer?.close();
    await this.store.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** How long the serving pools wait for the server (a paused one): README "What Herald survives". */
const databaseTimeouts = (config: HeraldConfig): DatabaseTimeouts => ({
  queryTimeoutMs: config.databaseQueryTimeoutMs,
  acquireTimeoutMs: config.databaseAcquireTimeoutMs,
});

@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    const { config, databaseUrl, logger } = options;
    const metrics = options.metrics ?? new HeraldMetrics('api', { processMetrics: false });
    // The relay is a follower too: an API that runs no projections runs no relay (apps/relay does).
    const relays = config.runProjections ? config.kafka : undefined;
    return {
      module: AppModule,
      // The command bus: controllers dispatch typed commands to the handlers listed below.
      imports: [CqrsModule.forRoot()],
      controllers: [
        HealthController,
        AuthController,
        MeController,
        ConversationsController,
        PeopleController,
        SearchController,
        ProjectionsController,
        AuditController,
        DevicesController,
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: OPERATOR_CHECK,
          inject: [SystemRoles],
          useFactory: (roles: SystemRoles): OperatorCheck =>
            options.operatorCheck ?? ((userId) => roles.hasSystemRole(userId, 'operator')),
        },
        { provide: DATABASE_URL, useValue: databaseUrl },
        { provide: JsonLogger, useValue: logger },
        { provide: HeraldMetrics, useValue: metrics },
        {
          provide: INTEGRATION_PRODUCER,
          useFactory: (): IntegrationProducer | null =>
            relays ? new KafkaJsProducer(relays, (level, message) => logger.emit(level, message, 'Relay')) : null,
        },
        {
          provide: PROJECTIONS,
          inject: [INTEGRATION_PRODUCER],
          useFactory: (producer: IntegrationProducer | null): Projection[] => [
            ...readModelProjections({ language: config.searchLanguage }),
            ...(options.projections ?? []),
            ...(producer && relays
              ? [kafkaRelay(producer, relays.topicPrefix, { published: (n) => metrics.relayRecords.inc(n) })]
              : []),
          ],
        },
        {
          provide: PROJECTION_SETTINGS,
          useValue: {
            passive: !config.runProjections,
            leaseMs: config.projectionLeaseMs,
            applied: (name) => metrics.projectionApplied(name),
          } satisfies ProjectionSettings,
        },
        {
          provide: EVENT_STORE,
          // EVENT_STORE: the events in PostgreSQL (with the read models) or in EventStoreDB.
          useFactory: async (): Promise<EventStore> =>
            new MeteredEventStore(
              options.eventStore ??
                (await openConfiguredEventStore(config, databaseUrl, {
                  poolSize: config.databasePoolSize,
                  timeouts: databaseTimeouts(config),
                  onError: (error) =>
                    logger.emit('warn', `event store connection error: ${error.message}`, 'EventStore'),
                })),
              metrics,
            ),
        },
        {
          provide: DataSource,
          useFactory: async (): Promise<DataSource> => {
            await migrateDatabase(databaseUrl, [
              ...PROJECTION_RUNTIME_MIGRATIONS,
              ...readModelMigrations(),
              ...PRESENCE_MIGRATIONS,
              ...NOTIFICATION_MIGRATIONS,
            ]);
            return createReadModelDataSource({
              url: databaseUrl,
              poolSize: config.databasePoolSize,
              timeouts: databaseTimeouts(config),
            }).initialize();
          },
        },
        {
          provide: IdentityService,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore): IdentityService =>
            new IdentityService(
              store,
              new AccessTokens(options.jwtSecret, config.accessTokenTtlSeconds),
              config.refreshTokenTtlSeconds,
            ),
        },
        {
          provide: ConversationService,
          inject: [EVENT_STORE, IdentityService],
          useFactory: (store: EventStore, identity: IdentityService): ConversationService =>
            new ConversationService(
              store,
              {
                exists: (userId) => identity.exists(userId),
                hasBlocked: (blocker, blocked) => identity.hasBlocked(blocker, blocked),
              },
              undefined,
              // Its own key, derived from the server secret every instance shares.
              createHmac('sha256', options.jwtSecret).update('herald withheld message ids').digest(),
            ),
        },
        { provide: SEARCH_OPTIONS, useValue: { language: config.searchLanguage } },
        ...readModelQueryHandlers(),
        MayWatchPresenceHandler,
        ...IDENTITY_COMMAND_HANDLERS,
        ...IDENTITY_QUERY_HANDLERS,
        ...CONVERSATION_COMMAND_HANDLERS,
        ...CONVERSATION_QUERY_HANDLERS,
        LiveEvents,
        PushGateway,
        { provide: NOTIFIER_ENABLED, useValue: options.notifier ?? true },
        NotificationsService,
        RateLimits,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: HeraldExceptionFilter, useFactory: () => new HeraldExceptionFilter(logger) },
        { provide: APP_FILTER, useExisting: HeraldExceptionFilter },
        ProjectionsService,
        SealerService,
        ...auditProviders(databaseTimeouts(config)),
        CommandMetrics,
        // Read-your-writes (the ReadYourWrites interceptor) waits on the projections of this process.
        { provide: CHECKPOINT_WAITER, useExisting: ProjectionsService },
        Closer,
        {
          // What the gauges read when /metrics is scraped.
          provide: 'herald:metric-sources',
          inject: [ProjectionsService],
          useFactory: (projections: ProjectionsService): true => {
            metrics.readProjectionsFrom(() => projections.readings());
            if (relays) metrics.readRelayLagFrom(() => projections.relayLag(relayName(relays.topicPrefix)));
            return true;
          },
        },
      ],
    };
  }
}
