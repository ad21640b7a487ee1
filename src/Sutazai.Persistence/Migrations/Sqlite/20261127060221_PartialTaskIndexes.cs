using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PartialTaskIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_agent_id_status_dispatch_score",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_dispatch_score",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_user_id_idempotency_key",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued",
                table: "tasks",
                columns: new[] { "status", "dispatch_score" },
                filter: "status = 'Queued'");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued_by_agent",
                table: "tasks",
                columns: new[] { "agent_id", "status", "dispatch_score" },
                filter: "status = 'Queued'");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued_unaddressed",
                table: "tasks",
                columns: new[] { "status", "dispatch_score" },
                filter: "status = 'Queued' AND agent_id IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks",
                columns: new[] { "status", "lease_expires_at" },
                filter: "lease_expires_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_user_id_idempotency_key",
                table: "tasks",
                columns: new[] { "user_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_queued",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_queued_by_agent",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_queued_unaddressed",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_user_id_idempotency_key",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_agent_id_status_dispatch_score",
                table: "tasks",
                columns: new[] { "agent_id", "status", "dispatch_score" });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_dispatch_score",
                table: "tasks",
                columns: new[] { "status", "dispatch_score" });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks",
                columns: new[] { "status", "lease_expires_at" });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_user_id_idempotency_key",
                table: "tasks",
                columns: new[] { "user_id", "idempotency_key" },
                unique: true);
        }
    }
}
