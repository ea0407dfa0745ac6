import java.io.IOException;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.Remote;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;

/** The lab's JVM: an RMI registry with two bound objects, and a named worker thread for JDWP to list. */
public class LabJvm {
  public interface Greeter extends Remote {
    String greet(String name) throws RemoteException;
  }

  static final class GreeterImpl implements Greeter {
    public String greet(String name) {
      return "hello " + name;
    }
  }

  /** Listens on the loopback address only. */
  static final class Loopback implements RMIServerSocketFactory, Serializable {
    public ServerSocket createServerSocket(int port) throws IOException {
      return new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Loopback;
    }

    @Override
    public int hashCode() {
      return 1;
    }
  }

  public static void main(String[] args) throws Exception {
    int registryPort = Integer.parseInt(args[0]);
    int objectPort = Integer.parseInt(args[1]);
    Loopback loopback = new Loopback();
    Registry registry = LocateRegistry.createRegistry(registryPort, null, loopback);
    GreeterImpl greeter = new GreeterImpl();
    Remote stub = UnicastRemoteObject.exportObject(greeter, objectPort, null, loopback);
    registry.bind("portolan/greeter", stub);
    registry.bind("portolan/clock", stub);
    Thread worker = new Thread(() -> {
      long ticks = 0;
      while (true) {
        ticks++;
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "portolan-worker");
    worker.start();
    System.out.println("LabJvm ready: registry " + registryPort + ", objects " + objectPort);
    worker.join();
  }
}
