CREATE TABLE `bot_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`bot_id` text NOT NULL,
	`ts` integer NOT NULL,
	`level` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`bot_id`) REFERENCES `bots`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `bot_events_bot_idx` ON `bot_events` (`bot_id`,`id`);--> statement-breakpoint
CREATE TABLE `bot_revisions` (
	`bot_id` text NOT NULL,
	`revision` integer NOT NULL,
	`manifest` text NOT NULL,
	`config` text NOT NULL,
	`config_hash` text NOT NULL,
	`source` text NOT NULL,
	`actor` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`bot_id`, `revision`),
	FOREIGN KEY (`bot_id`) REFERENCES `bots`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `bots` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`fleet` text,
	`environment` text,
	`labels` text DEFAULT '{}' NOT NULL,
	`provider` text NOT NULL,
	`host` text DEFAULT 'local' NOT NULL,
	`port` integer NOT NULL,
	`gateway_token_enc` text NOT NULL,
	`desired_revision` integer NOT NULL,
	`applied_revision` integer,
	`applied_hash` text,
	`applied_env_hash` text,
	`desired_state` text DEFAULT 'running' NOT NULL,
	`status` text NOT NULL,
	`status_reason` text DEFAULT '' NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`deleting` integer DEFAULT false NOT NULL,
	`purge` integer DEFAULT false NOT NULL,
	`last_seen_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bots_ws_name_uq` ON `bots` (`workspace_id`,`name`);--> statement-breakpoint
CREATE INDEX `bots_host_port_idx` ON `bots` (`host`,`port`);--> statement-breakpoint
CREATE TABLE `health_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`bot_id` text NOT NULL,
	`ts` integer NOT NULL,
	`ready` integer NOT NULL,
	`data` text NOT NULL,
	FOREIGN KEY (`bot_id`) REFERENCES `bots`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `health_bot_idx` ON `health_snapshots` (`bot_id`,`id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`bot_id` text NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`not_before` integer NOT NULL,
	`request_id` text,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`bot_id`) REFERENCES `bots`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `jobs_state_idx` ON `jobs` (`state`,`not_before`);--> statement-breakpoint
CREATE INDEX `jobs_bot_idx` ON `jobs` (`bot_id`,`state`);--> statement-breakpoint
CREATE TABLE `secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`value_enc` text NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `secrets_ws_name_uq` ON `secrets` (`workspace_id`,`name`);