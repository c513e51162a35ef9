"""Resource kinds' own steps for lifecycle jobs (export, import, count, remove), each over a
tenant environment's :class:`~tenantry.runtime.scope.TenantScope` stores."""
