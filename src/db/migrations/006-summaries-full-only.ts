import type { Migration } from './index';

/**
 * Summaries are refreshed in full only (`lmod-load summarize`): the distinct pairs and the pending loads that version 5
 * kept to add each load to them go, and with them the 'pairs' state.
 */
const migration: Migration = {
  version: 6,
  description: 'summaries refreshed in full only: drop summary_pairs and summary_pending',
  mysql: ['DROP TABLE IF EXISTS summary_pairs', 'DROP TABLE IF EXISTS summary_pending', "DELETE FROM summary_state WHERE name = 'pairs'"],
  sqlite: ['DROP TABLE IF EXISTS summary_pairs', 'DROP TABLE IF EXISTS summary_pending', "DELETE FROM summary_state WHERE name = 'pairs'"],
};

export default migration;
