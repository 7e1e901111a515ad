/** Two clusters: prod takes every global setting, staging has its own channels and people. */
export function twoClusters(
  stagingSlack = '{ opsChannels: [C0STAGE], approvers: [U0BOB, S0STAGE] }',
): string {
  const cluster = (name: string, slack?: string) => `
  ${name}:
    ${slack ? `slack: ${slack}` : ''}
    kubernetes: { namespace: ${name} }
    postgres: { host: 127.0.0.1, user: pachyderm }
    objectStore: { bucket: ${name}-data }
    backup: { bucket: ${name}-backup }
    helm: { release: pachyderm }`;
  return `
slack:
  opsChannels: [C0OPS]
  announceChannels: [C0USERS]
  approvers: [U0ALICE, S0SRE]
  requesters: [S0OPS]
  allowSelfApproval: false
redis: { url: redis://127.0.0.1:6379 }
stateDatabase: { url: postgres://x@127.0.0.1/pachops }
clusters:${cluster('prod')}${cluster('staging', stagingSlack)}
`;
}
