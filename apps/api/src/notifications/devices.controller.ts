/**
 * A user's push targets (`/me/devices`) and notification settings: what the notifier
 * (libs/notifications) sends to when the user has no socket open. Devices are the user's
 * own delivery configuration, kept in a table rather than the event log (ADR 022): a push
 * token is a credential, deleted for good when the device is removed.
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Put } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import type { AccessClaims } from '@herald/identity';
import { ApiInput, NoQuery, parseInput, Uuid, ZodBody, ZodParam, ZodQuery } from '@herald/nest';
import {
  DEVICE_KINDS,
  DeviceError,
  registrationSchema,
  targetOf,
  type DeviceKind,
  type DeviceView,
  type Registration,
} from '@herald/notifications';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { CONFIG } from '../tokens.js';
import { NotificationsService } from './notifications.service.js';

const SettingsBody = z.strictObject({
  previews: z.boolean().describe('Whether notifications may carry the first characters of a message (default false)'),
});

export interface NotificationSettings {
  readonly previews: boolean;
  /** The kinds of device this server can notify. */
  readonly kinds: DeviceKind[];
  /** The VAPID public key (base64url) browsers subscribe with; null when Web Push is off. */
  readonly webPushPublicKey: string | null;
}

@Controller('me')
export class DevicesController {
  /** The body's schema: the URL rules take the configured allow-list (WEBHOOK_ALLOWED_HOSTS). */
  private readonly registration: z.ZodType<Registration>;

  constructor(
    private readonly notifications: NotificationsService,
    @Inject(CONFIG) config: HeraldConfig,
  ) {
    this.registration = registrationSchema({ allowedHosts: config.notifications.allowedHosts });
  }

  @Post('devices')
  @ApiInput(registrationSchema({ allowedHosts: [] }))
  async register(@Caller() caller: AccessClaims, @Body() input: unknown): Promise<DeviceView> {
    const body = parseInput(this.registration, input);
    if (!this.notifications.kinds().includes(body.kind)) {
      throw new DeviceError('DEVICE.UNSUPPORTED', `This server does not send ${body.kind} notifications`);
    }
    const { device } = await this.notifications.devices.register(
      caller.userId,
      caller.sessionId,
      targetOf(body),
      body.name,
    );
    return device;
  }

  @Get('devices')
  async list(@Caller() caller: AccessClaims, @ZodQuery(NoQuery) _query: object): Promise<{ devices: DeviceView[] }> {
    return { devices: await this.notifications.devices.list(caller.userId) };
  }

  @Delete('devices/:deviceId')
  @HttpCode(204)
  async remove(@Caller() caller: AccessClaims, @ZodParam('deviceId', Uuid) deviceId: string): Promise<void> {
    await this.notifications.devices.remove(caller.userId, deviceId);
  }

  @Get('notification-settings')
  async settings(@Caller() caller: AccessClaims, @ZodQuery(NoQuery) _query: object): Promise<NotificationSettings> {
    return this.settingsOf(caller.userId);
  }

  @Put('notification-settings')
  async changeSettings(
    @Caller() caller: AccessClaims,
    @ZodBody(SettingsBody) { previews }: z.output<typeof SettingsBody>,
  ): Promise<NotificationSettings> {
    await this.notifications.devices.setPreviews(caller.userId, previews);
    return this.settingsOf(caller.userId);
  }

  private async settingsOf(userId: string): Promise<NotificationSettings> {
    return {
      previews: await this.notifications.devices.previews(userId),
      kinds: DEVICE_KINDS.filter((kind) => this.notifications.kinds().includes(kind)),
      webPushPublicKey: this.notifications.webPushPublicKey(),
    };
  }
}
