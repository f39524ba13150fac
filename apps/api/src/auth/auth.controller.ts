/** Sign-up, sign-in, token refresh, sign-out and the caller's own profile. */
import { Controller, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  PASSWORD_MAX,
  PASSWORD_MIN,
  type AccessClaims,
  type Device,
  type Profile,
  type Tokens,
} from '@herald/identity';
import { NoQuery, correlationOfRequest, ZodBody, ZodQuery, type RequestCorrelation } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Caller, Public, SignInLimited } from './auth.guard.js';
import {
  RefreshCommand,
  RegisterCommand,
  SignInCommand,
  SignOutCommand,
  UpdateProfileCommand,
} from './identity.commands.js';
import { GetProfile } from './identity.queries.js';

const displayName = z.string().trim().min(1).max(64);
/** What a client may say of itself at sign-in, shown in `GET /me/sessions`. */
const DeviceFields = {
  deviceName: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .optional()
    .describe('The device ("Ada\'s phone"), shown in GET /me/sessions'),
  client: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('The client app ("Herald iOS 2.1"); when not given, the User-Agent (cut to 200 characters)'),
};
const RegisterBody = z.strictObject({
  username: z.string().min(3).max(32),
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
  displayName,
  ...DeviceFields,
});
const SignInBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
  ...DeviceFields,
});

/** The device fields as given, the client defaulting to the User-Agent. */
function deviceOf(body: { deviceName?: string; client?: string }, request: FastifyRequest): Device {
  // eslint-disable-next-line no-restricted-syntax -- a header's name, not a stream's
  const agent = request.headers['user-agent']?.trim().slice(0, 200);
  const client = body.client ?? (agent ? agent : undefined);
  return {
    ...(body.deviceName !== undefined ? { deviceName: body.deviceName } : {}),
    ...(client !== undefined ? { client } : {}),
  };
}
const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const ProfileBody = z.strictObject({
  displayName: displayName.optional(),
  avatarUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable()
    .optional(),
  statusText: z.string().max(140).nullable().optional(),
});

/**
 * The context of a command the request causes: its correlation (libs/nest request-context:
 * the traceparent's trace id, the client's x-request-id, or a new one), the IP and the time.
 */
export function requestContext(request: FastifyRequest): RequestCorrelation & { ip: string; now: Date } {
  return { ...correlationOfRequest(request), ip: request.ip, now: new Date() };
}

@Controller()
export class AuthController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queryBus: QueryBus,
  ) {}

  @Public()
  @SignInLimited()
  @Post('auth/register')
  register(
    @ZodBody(RegisterBody) body: z.output<typeof RegisterBody>,
    @Req() request: FastifyRequest,
  ): Promise<Tokens> {
    const { username, password, displayName } = body;
    return this.commands.execute(
      new RegisterCommand({ username, password, displayName, ...deviceOf(body, request) }, requestContext(request)),
    );
  }

  @Public()
  @SignInLimited()
  @Post('auth/sign-in')
  @HttpCode(200)
  signIn(@ZodBody(SignInBody) body: z.output<typeof SignInBody>, @Req() request: FastifyRequest): Promise<Tokens> {
    const { username, password } = body;
    return this.commands.execute(
      new SignInCommand({ username, password, ...deviceOf(body, request) }, requestContext(request)),
    );
  }

  @Public()
  @Post('auth/refresh')
  @HttpCode(200)
  refresh(
    @ZodBody(RefreshBody) { refreshToken }: z.output<typeof RefreshBody>,
    @Req() request: FastifyRequest,
  ): Promise<Tokens> {
    return this.commands.execute(new RefreshCommand(refreshToken, requestContext(request)));
  }

  @Post('auth/sign-out')
  @HttpCode(204)
  async signOut(@Caller() caller: AccessClaims, @Req() request: FastifyRequest): Promise<void> {
    await this.commands.execute(new SignOutCommand(caller, requestContext(request)));
  }

  @Get('me')
  me(@Caller() caller: AccessClaims, @ZodQuery(NoQuery) _query: object): Promise<Profile> {
    return this.queryBus.execute(new GetProfile(caller.userId));
  }

  @Patch('me')
  updateMe(
    @Caller() caller: AccessClaims,
    @ZodBody(ProfileBody) body: z.output<typeof ProfileBody>,
    @Req() request: FastifyRequest,
  ): Promise<Profile> {
    return this.commands.execute(new UpdateProfileCommand(caller.userId, body, requestContext(request)));
  }
}

/** The request schemas, for the property test that feeds the deciders what this edge lets through. */
export const IDENTITY_REQUESTS = { RegisterBody, ProfileBody } as const;
