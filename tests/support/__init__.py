"""What the tests share: the emulator fixtures (`emulator`), the job builder (`jobs`), a recording
transport and fast clients (`wire`), and the sandbox that runs rendered scripts for real (`script`)."""
