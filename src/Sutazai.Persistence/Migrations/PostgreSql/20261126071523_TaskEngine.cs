using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class TaskEngine : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_status_priority_created_at",
                table: "tasks");

            migrationBuilder.AddColumn<bool>(
                name: "cancel_requested",
                table: "tasks",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "dispatch_score",
                table: "tasks",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<List<string>>(
                name: "submitter_permissions",
                table: "tasks",
                type: "text[]",
                nullable: false);

            migrationBuilder.AddColumn<int>(
                name: "timeout_seconds",
                table: "tasks",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "webhook_secret_protected",
                table: "tasks",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "webhook_url",
                table: "tasks",
                type: "character varying(2000)",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<List<string>>(
                name: "actions",
                table: "agents",
                type: "text[]",
                nullable: false);

            migrationBuilder.AddColumn<long>(
                name: "error_count",
                table: "agents",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "health_detail",
                table: "agents",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "health_status",
                table: "agents",
                type: "character varying(32)",
                maxLength: 32,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_heartbeat_at",
                table: "agents",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "last_latency_ms",
                table: "agents",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "success_count",
                table: "agents",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    task_id = table.Column<Guid>(type: "uuid", nullable: false),
                    @event = table.Column<string>(name: "event", type: "character varying(64)", maxLength: 64, nullable: false),
                    url = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_status_code = table.Column<int>(type: "integer", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    delivered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    lease_owner = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    lease_expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_deliveries", x => x.id);
                    table.ForeignKey(
                        name: "fk_webhook_deliveries_tasks_task_id",
                        column: x => x.task_id,
                        principalTable: "tasks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_dispatch_score",
                table: "tasks",
                columns: new[] { "status", "dispatch_score" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_status_next_attempt_at",
                table: "webhook_deliveries",
                columns: new[] { "status", "next_attempt_at" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_task_id",
                table: "webhook_deliveries",
                column: "task_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "webhook_deliveries");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_dispatch_score",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "cancel_requested",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "dispatch_score",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "submitter_permissions",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "timeout_seconds",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "webhook_secret_protected",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "webhook_url",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "actions",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "error_count",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "health_detail",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "health_status",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "last_heartbeat_at",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "last_latency_ms",
                table: "agents");

            migrationBuilder.DropColumn(
                name: "success_count",
                table: "agents");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_priority_created_at",
                table: "tasks",
                columns: new[] { "status", "priority", "created_at" });
        }
    }
}
