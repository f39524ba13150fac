/**
 * Fails closed before a conversation query: membership decides who may read, so a stopped
 * or stale membership read model refuses the query at once (503 PROJECTIONS.UNAVAILABLE)
 * rather than let a member who left or was kicked read on. A guard, because guards run
 * before interceptors: the refusal comes before ReadYourWrites would wait on `?after=`.
 */
import { Injectable, type CanActivate } from '@nestjs/common';
import { MEMBERSHIP } from '@herald/projections';
import { ProjectionsService } from '../projections.service.js';

@Injectable()
export class MembershipCurrent implements CanActivate {
  constructor(private readonly projections: ProjectionsService) {}

  async canActivate(): Promise<boolean> {
    await this.projections.requireCurrent(MEMBERSHIP);
    return true;
  }
}
