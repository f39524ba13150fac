/**
 * Where membership.v1 switches a group's conversation list from write to read diffusion
 * (ADR 036): with more than this many current members, a send no longer writes to each
 * member's row. Crossing the line either way rewrites the members' rows once (at most
 * LARGE_GROUP + 1 of them), so a join or leave costs a bounded number of rows whatever the
 * group's size.
 */
export const LARGE_GROUP = 256;
