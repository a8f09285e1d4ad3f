"""Infrastructure every other part uses: errors and notices, asset paths, the device, the allocator policy, background jobs, the shared training core."""
