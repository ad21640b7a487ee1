using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.Sqlite
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
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "dispatch_score",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "submitter_permissions",
                table: "tasks",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<int>(
                name: "timeout_seconds",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "webhook_secret_protected",
                table: "tasks",
                type: "TEXT",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "webhook_url",
                table: "tasks",
                type: "TEXT",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "actions",
                table: "agents",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<long>(
                name: "error_count",
                table: "agents",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "health_detail",
                table: "agents",
                type: "TEXT",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "health_status",
                table: "agents",
                type: "TEXT",
                maxLength: 32,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<long>(
                name: "last_heartbeat_at",
                table: "agents",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "last_latency_ms",
                table: "agents",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "success_count",
                table: "agents",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    task_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    @event = table.Column<string>(name: "event", type: "TEXT", maxLength: 64, nullable: false),
                    url = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    payload = table.Column<string>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    last_status_code = table.Column<int>(type: "INTEGER", nullable: true),
                    last_error = table.Column<string>(type: "TEXT", nullable: true),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    next_attempt_at = table.Column<long>(type: "INTEGER", nullable: false),
                    delivered_at = table.Column<long>(type: "INTEGER", nullable: true),
                    lease_owner = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    lease_expires_at = table.Column<long>(type: "INTEGER", nullable: true)
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
