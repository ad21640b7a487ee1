using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Resources : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "resource_needs",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "resource_allocations",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    request_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    requester = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    task_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    user_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    cpu_cores = table.Column<double>(type: "REAL", nullable: false),
                    memory_mb = table.Column<long>(type: "INTEGER", nullable: false),
                    gpu_count = table.Column<int>(type: "INTEGER", nullable: false),
                    custom = table.Column<string>(type: "TEXT", nullable: false),
                    priority = table.Column<int>(type: "INTEGER", nullable: false),
                    duration_minutes = table.Column<int>(type: "INTEGER", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    reason = table.Column<string>(type: "TEXT", nullable: true),
                    requested_at = table.Column<long>(type: "INTEGER", nullable: false),
                    granted_at = table.Column<long>(type: "INTEGER", nullable: true),
                    expires_at = table.Column<long>(type: "INTEGER", nullable: true),
                    ended_at = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_resource_allocations", x => x.id);
                    table.ForeignKey(
                        name: "fk_resource_allocations_tasks_task_id",
                        column: x => x.task_id,
                        principalTable: "tasks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_resource_allocations_request_id",
                table: "resource_allocations",
                column: "request_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_resource_allocations_status_priority_requested_at",
                table: "resource_allocations",
                columns: new[] { "status", "priority", "requested_at" });

            migrationBuilder.CreateIndex(
                name: "ix_resource_allocations_task_id",
                table: "resource_allocations",
                column: "task_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "resource_allocations");

            migrationBuilder.DropColumn(
                name: "resource_needs",
                table: "tasks");
        }
    }
}
