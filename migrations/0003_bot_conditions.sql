ALTER TABLE `bots` ADD `conditions` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `bots` ADD `applied_secrets` text DEFAULT '{}' NOT NULL;