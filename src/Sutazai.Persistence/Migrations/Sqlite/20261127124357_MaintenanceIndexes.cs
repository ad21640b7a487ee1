using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class MaintenanceIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_lease_expires_at",
                table: "tasks",
                column: "lease_expires_at",
                filter: "lease_expires_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued_deadline",
                table: "tasks",
                column: "deadline",
                filter: "status = 'Queued' AND deadline IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_lease_expires_at",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_queued_deadline",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks",
                columns: new[] { "status", "lease_expires_at" },
                filter: "lease_expires_at IS NOT NULL");
        }
    }
}
