CREATE TABLE `connectors` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`secret_name` text,
	`settings` text DEFAULT '{}' NOT NULL,
	`last_test_at` integer,
	`last_test_ok` integer,
	`last_test_message` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connectors_ws_name_uq` ON `connectors` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `host_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`host_id` text NOT NULL,
	`ts` integer NOT NULL,
	`level` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `host_events_host_idx` ON `host_events` (`host_id`,`id`);--> statement-breakpoint
CREATE TABLE `hosts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`address` text NOT NULL,
	`port` integer DEFAULT 22 NOT NULL,
	`username` text NOT NULL,
	`auth_kind` text NOT NULL,
	`private_key_enc` text NOT NULL,
	`public_key` text NOT NULL,
	`fingerprint` text,
	`seen_fingerprint` text,
	`status` text NOT NULL,
	`status_reason` text DEFAULT '' NOT NULL,
	`os` text,
	`init` text,
	`doctor` text DEFAULT '{}' NOT NULL,
	`last_seen_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hosts_ws_name_uq` ON `hosts` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `layers` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`spec` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `layers_ws_kind_name_uq` ON `layers` (`workspace_id`,`kind`,`name`);--> statement-breakpoint
CREATE TABLE `policy_exceptions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`bot_name` text,
	`reason` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `policy_exceptions_ws_idx` ON `policy_exceptions` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `policy_packs` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`pack_id` text NOT NULL,
	`builtin` integer DEFAULT false NOT NULL,
	`spec` text,
	`enabled` integer DEFAULT true NOT NULL,
	`mode` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_packs_ws_pack_uq` ON `policy_packs` (`workspace_id`,`pack_id`);--> statement-breakpoint
CREATE TABLE `secret_rollouts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`secret_name` text NOT NULL,
	`version` integer NOT NULL,
	`bot_id` text NOT NULL,
	`state` text NOT NULL,
	`method` text,
	`message` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`bot_id`) REFERENCES `bots`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `secret_rollouts_idx` ON `secret_rollouts` (`workspace_id`,`secret_name`,`version`);--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`spec` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `templates_ws_name_uq` ON `templates` (`workspace_id`,`name`);--> statement-breakpoint
ALTER TABLE `bot_revisions` ADD `secret_refs` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `bot_revisions` ADD `resolved` text;--> statement-breakpoint
ALTER TABLE `bot_revisions` ADD `provenance` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `secrets` ADD `data_key_enc` text;--> statement-breakpoint
ALTER TABLE `secrets` ADD `master_key_id` text;--> statement-breakpoint
ALTER TABLE `secrets` ADD `description` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `secrets` ADD `updated_by` text;