using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class TaskListIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_tasks_agent_id_created_at_id",
                table: "tasks",
                columns: new[] { "agent_id", "created_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_created_at_id",
                table: "tasks",
                columns: new[] { "status", "created_at", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_agent_id_created_at_id",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_created_at_id",
                table: "tasks");
        }
    }
}
